// config.json -> ModelConfig and generation_config.json -> GenerationDefaults, with validation.
// Accepted spellings (transformers 4 and 5, InternLM2, VLM nesting) are listed in docs/model_loading.md.
#pragma once

#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/dtype.h"

namespace turbolm {

enum class RopeType { kDefault, kLinear, kDynamic, kLlama3, kYarn, kLongRope };
std::string_view rope_type_name(RopeType type);  // the config spelling: "default", "linear", ...

struct RopeScaling {
  RopeType type = RopeType::kDefault;
  double factor = 1.0;
  // Context length the model was trained with before scaling; max_position_embeddings when the config omits it.
  int original_max_position_embeddings = 0;
  double low_freq_factor = 1.0;  // llama3
  double high_freq_factor = 4.0;
  double beta_fast = 32.0;  // yarn
  double beta_slow = 1.0;
  std::optional<double> attention_factor;  // yarn / longrope
  std::optional<double> mscale;            // yarn (DeepSeek style)
  std::optional<double> mscale_all_dim;
  bool truncate = true;              // yarn: round the correction range to whole dims
  std::vector<double> short_factor;  // longrope: one per rotary dim pair
  std::vector<double> long_factor;
};

struct QuantizationConfig {
  std::string quant_method;  // "awq", "gptq", "compressed-tensors", "fp8", "smooth_quant", ... as written
  int bits = 0;              // 0 when the method does not say (e.g. compressed-tensors keeps it per group)
  int group_size = 0;        // -1 = per channel (gptq spelling), 0 = not given
  bool zero_point = false;   // awq: asymmetric with zeros
  bool sym = true;           // gptq: symmetric
  bool desc_act = false;     // gptq: act-order
  nlohmann::json raw;        // the whole quantization_config object
};

struct ModelConfig {
  std::string architecture;  // architectures[0] ("" when the config has none)
  std::string model_type;    // top-level model_type
  // For VLM configs (llm_config / text_config nesting): the language model's architectures[0] and model_type;
  // equal to architecture / model_type otherwise.
  std::string text_architecture;
  std::string text_model_type;
  int64_t hidden_size = 0, intermediate_size = 0, num_hidden_layers = 0, num_attention_heads = 0,
          num_key_value_heads = 0, head_dim = 0, vocab_size = 0, max_position_embeddings = 0;
  double rms_norm_eps = 1e-6;
  double rope_theta = 10000.0;
  RopeScaling rope_scaling;
  bool tie_word_embeddings = false;
  bool attention_bias = false;  // also InternLM2's "bias"
  bool mlp_bias = false;
  bool use_sliding_window = false;  // Qwen2: recorded only; the engine does not implement sliding windows yet
  std::optional<int64_t> sliding_window;
  std::optional<int32_t> bos_token_id;
  std::vector<int32_t> eos_token_ids;
  std::optional<int32_t> pad_token_id;
  DType dtype = DType::kBF16;  // torch_dtype or (transformers 5) dtype
  std::optional<QuantizationConfig> quantization;
  nlohmann::json raw;  // the whole config.json (families read extra fields, e.g. InternLM2's "bias")

  // `source_name` names the input in error messages (usually the config.json path). Throws kInvalidArgument for
  // missing/ill-typed/inconsistent fields, kUnsupported for valid but unhandled values (e.g. a rope type).
  static ModelConfig from_json(const nlohmann::json& j, std::string_view source_name);
  // Reads <model_dir>/config.json; kNotFound naming the folder when it is missing.
  static ModelConfig from_dir(const std::filesystem::path& model_dir);
};

struct GenerationDefaults {
  std::vector<int32_t> eos_token_ids;
  std::optional<int32_t> bos_token_id;
  std::optional<int32_t> pad_token_id;
  std::optional<bool> do_sample;
  std::optional<double> temperature, top_p, repetition_penalty, min_p;
  std::optional<int> top_k;
  std::optional<int> max_new_tokens;
  std::optional<int> max_length;

  static GenerationDefaults from_json(const nlohmann::json& j, std::string_view source_name);
  // Reads <model_dir>/generation_config.json; a missing file gives empty defaults.
  static GenerationDefaults from_dir(const std::filesystem::path& model_dir);
};

}  // namespace turbolm
