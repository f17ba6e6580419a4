#include "io/model_config.h"

#include <limits>

#include "core/error.h"
#include "io/json_fields.h"
#include "io/json_file.h"
#include "io/rope_scaling.h"

namespace turbolm {
namespace {

constexpr int64_t kMaxInt = std::numeric_limits<int32_t>::max();

std::string first_architecture(const JsonFields& f) {
  const nlohmann::json* a = f.get("architectures");
  if (!a) return {};
  if (!a->is_array() || a->empty() || !(*a)[0].is_string())
    f.fail("architectures", "must be a non-empty list of class names");
  return (*a)[0].get<std::string>();
}

int64_t required_positive(const JsonFields& f, std::string_view key) {
  const std::optional<int64_t> v = f.get_int(key);
  if (!v) f.fail(key, "is required");
  if (*v <= 0) f.fail(key, "must be positive, got " + std::to_string(*v));
  return *v;
}

// transformers 5 moved rope_theta and the scaling into `rope_parameters`; older configs have a top-level
// rope_theta and `rope_scaling` (null or absent for plain RoPE).
void parse_rope(const JsonFields& text, ModelConfig& c) {
  if (const nlohmann::json* params = text.get_object("rope_parameters")) {
    const JsonFields p(*params, text.source(), "rope_parameters.");
    // Models with several attention kinds (Gemma 3) nest one parameter set per layer type instead.
    if (!p.has("rope_type") && !p.has("type") && !p.has("rope_theta"))
      TLM_FAIL(kUnsupported) << text.source()
                             << ": 'rope_parameters' without rope_type/rope_theta (per-layer-type RoPE) is not "
                                "supported yet";
    c.rope_theta = p.get_double("rope_theta").value_or(text.get_double("rope_theta").value_or(c.rope_theta));
    c.rope_scaling = parse_rope_scaling(p, c.max_position_embeddings);
  } else {
    c.rope_theta = text.get_double("rope_theta").value_or(c.rope_theta);
    if (const nlohmann::json* scaling = text.get_object("rope_scaling"))
      c.rope_scaling =
          parse_rope_scaling(JsonFields(*scaling, text.source(), "rope_scaling."), c.max_position_embeddings);
  }
  if (c.rope_theta <= 0) text.fail("rope_theta", "must be positive");
  const auto& rs = c.rope_scaling;
  if (rs.type == RopeType::kLongRope && rs.short_factor.size() * 2 != static_cast<size_t>(c.head_dim))
    TLM_FAIL(kInvalidArgument) << text.source() << ": longrope factor lists have " << rs.short_factor.size()
                               << " entries, expected head_dim / 2 = " << c.head_dim / 2;
}

QuantizationConfig parse_quantization(const nlohmann::json& j, std::string_view source) {
  const JsonFields f(j, source, "quantization_config.");
  QuantizationConfig q;
  const std::optional<std::string> method = f.get_string("quant_method");
  if (!method || method->empty()) f.fail("quant_method", "is required");
  q.quant_method = *method;
  // AutoAWQ's own files say w_bit / q_group_size; the HF integration writes bits / group_size.
  q.bits = static_cast<int>(f.get_int("bits", 1, 64).value_or(f.get_int("w_bit", 1, 64).value_or(0)));
  q.group_size = static_cast<int>(
      f.get_int("group_size", -1, kMaxInt).value_or(f.get_int("q_group_size", -1, kMaxInt).value_or(0)));
  q.zero_point = f.get_bool("zero_point").value_or(false);
  q.sym = f.get_bool("sym").value_or(true);
  q.desc_act = f.get_bool("desc_act").value_or(false);
  q.raw = j;
  return q;
}

DType parse_dtype(const JsonFields& f) {
  // transformers 5 writes "dtype"; older versions "torch_dtype". When both exist "dtype" is the current one.
  const char* key = f.has("dtype") ? "dtype" : "torch_dtype";
  const std::optional<std::string> name = f.get_string(key);
  if (!name) return DType::kBF16;
  const std::optional<DType> dtype = dtype_from_torch_name(*name);
  if (!dtype)
    TLM_FAIL(kUnsupported) << f.source() << ": '" << key << "' " << *name
                           << " is not supported (float32, float16 or bfloat16)";
  return *dtype;
}

}  // namespace

ModelConfig ModelConfig::from_json(const nlohmann::json& j, std::string_view source_name) {
  const JsonFields top(j, source_name);
  ModelConfig c;
  c.raw = j;
  c.architecture = first_architecture(top);
  c.model_type = top.get_string("model_type").value_or("");

  // VLM configs nest the language model: InternVL's llm_config, transformers' text_config.
  const nlohmann::json* nested = top.get_object("llm_config");
  const char* nested_key = "llm_config.";
  if (!nested) {
    nested = top.get_object("text_config");
    nested_key = "text_config.";
  }
  const JsonFields text = nested ? JsonFields(*nested, source_name, nested_key) : top;
  c.text_architecture = nested ? first_architecture(text) : c.architecture;
  if (c.text_architecture.empty()) c.text_architecture = c.architecture;
  c.text_model_type = nested ? text.get_string("model_type").value_or(c.model_type) : c.model_type;
  // Fields a VLM may keep at either level: the nested value wins, the top level is the fallback.
  auto either = [&](std::string_view key) -> const JsonFields& { return text.has(key) || !top.has(key) ? text : top; };

  c.hidden_size = required_positive(text, "hidden_size");
  c.intermediate_size = required_positive(text, "intermediate_size");
  c.num_hidden_layers = required_positive(text, "num_hidden_layers");
  c.num_attention_heads = required_positive(text, "num_attention_heads");
  c.vocab_size = required_positive(text, "vocab_size");
  c.max_position_embeddings = text.get_int("max_position_embeddings", 0, kMaxInt).value_or(0);
  // Every supported family gates its MLP with SiLU; another activation would run silently wrong.
  if (const std::optional<std::string> act = text.get_string("hidden_act"); act && *act != "silu" && *act != "swish")
    TLM_FAIL(kUnsupported) << text.source() << ": hidden_act '" << *act
                           << "' is not supported (the model families here use silu)";

  c.num_key_value_heads =
      text.has("num_key_value_heads") ? required_positive(text, "num_key_value_heads") : c.num_attention_heads;
  if (c.num_attention_heads % c.num_key_value_heads != 0)
    text.fail("num_key_value_heads", "(" + std::to_string(c.num_key_value_heads) +
                                         ") must divide num_attention_heads (" + std::to_string(c.num_attention_heads) +
                                         ")");
  if (text.has("head_dim")) {
    c.head_dim = required_positive(text, "head_dim");
  } else {
    if (c.hidden_size % c.num_attention_heads != 0)
      text.fail("hidden_size", "(" + std::to_string(c.hidden_size) + ") is not divisible by num_attention_heads (" +
                                   std::to_string(c.num_attention_heads) + ") and there is no head_dim");
    c.head_dim = c.hidden_size / c.num_attention_heads;
  }

  c.rms_norm_eps = text.get_double("rms_norm_eps").value_or(c.rms_norm_eps);
  if (c.rms_norm_eps <= 0) text.fail("rms_norm_eps", "must be positive");
  parse_rope(text, c);

  c.tie_word_embeddings = either("tie_word_embeddings").get_bool("tie_word_embeddings").value_or(false);
  // InternLM2 calls its attention bias "bias".
  c.attention_bias = text.get_bool("attention_bias").value_or(text.get_bool("bias").value_or(false));
  c.mlp_bias = text.get_bool("mlp_bias").value_or(false);
  c.use_sliding_window = text.get_bool("use_sliding_window").value_or(false);
  c.sliding_window = text.get_int("sliding_window", 1, std::numeric_limits<int64_t>::max());

  c.bos_token_id = either("bos_token_id").get_token_id("bos_token_id");
  c.eos_token_ids = either("eos_token_id").get_token_ids("eos_token_id");
  // Some old Llama configs write pad_token_id: -1 for "none".
  const JsonFields& pad = either("pad_token_id");
  if (pad.get_int("pad_token_id").value_or(0) >= 0) c.pad_token_id = pad.get_token_id("pad_token_id");

  c.dtype = parse_dtype(text.has("dtype") || text.has("torch_dtype") ? text : top);
  if (const nlohmann::json* q = either("quantization_config").get_object("quantization_config"))
    c.quantization = parse_quantization(*q, source_name);
  return c;
}

ModelConfig ModelConfig::from_dir(const std::filesystem::path& model_dir) {
  std::error_code ec;
  if (!std::filesystem::is_directory(model_dir, ec))
    TLM_FAIL(kNotFound) << "model folder " << model_dir.string() << " does not exist";
  const std::filesystem::path path = model_dir / "config.json";
  const bool exists = std::filesystem::exists(path, ec);
  if (ec) TLM_FAIL(kInvalidArgument) << "model folder " << model_dir.string() << ": " << ec.message();
  if (!exists) TLM_FAIL(kNotFound) << "model folder " << model_dir.string() << " has no config.json";
  return from_json(read_json_file(path), path.string());
}

}  // namespace turbolm
