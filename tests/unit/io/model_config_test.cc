#include "io/model_config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include "io_test_util.h"

namespace turbolm {
namespace {

using nlohmann::json;
using testing::expect_error;
using testing::TempDir;

// A minimal valid Llama config; tests patch it.
json llama() {
  return json::parse(R"({
    "architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": 4096, "intermediate_size": 14336,
    "num_hidden_layers": 32, "num_attention_heads": 32, "num_key_value_heads": 8, "vocab_size": 128256,
    "max_position_embeddings": 131072, "rms_norm_eps": 1e-05, "rope_theta": 500000.0, "torch_dtype": "bfloat16",
    "bos_token_id": 128000, "eos_token_id": [128001, 128008, 128009], "tie_word_embeddings": false})");
}

ModelConfig parse(const json& j) { return ModelConfig::from_json(j, "config.json"); }

json with(json j, const std::string& key, json value) {
  j[key] = std::move(value);
  return j;
}

json without(json j, const std::string& key) {
  j.erase(key);
  return j;
}

TEST(ModelConfig, Stories260KTransformers5Style) {
  const ModelConfig c = ModelConfig::from_dir(testing::stories_dir());
  EXPECT_EQ(c.architecture, "LlamaForCausalLM");
  EXPECT_EQ(c.text_architecture, "LlamaForCausalLM");
  EXPECT_EQ(c.model_type, "llama");
  EXPECT_EQ(c.hidden_size, 64);
  EXPECT_EQ(c.intermediate_size, 172);
  EXPECT_EQ(c.num_hidden_layers, 5);
  EXPECT_EQ(c.num_attention_heads, 8);
  EXPECT_EQ(c.num_key_value_heads, 4);
  EXPECT_EQ(c.head_dim, 8);
  EXPECT_EQ(c.vocab_size, 512);
  EXPECT_EQ(c.max_position_embeddings, 512);
  EXPECT_DOUBLE_EQ(c.rms_norm_eps, 1e-5);
  EXPECT_DOUBLE_EQ(c.rope_theta, 10000.0);
  EXPECT_EQ(c.rope_scaling.type, RopeType::kDefault);
  EXPECT_TRUE(c.tie_word_embeddings);
  EXPECT_FALSE(c.attention_bias);
  EXPECT_FALSE(c.mlp_bias);
  EXPECT_EQ(c.bos_token_id, 1);
  EXPECT_EQ(c.eos_token_ids, std::vector<int32_t>{2});
  EXPECT_FALSE(c.pad_token_id.has_value());
  EXPECT_EQ(c.dtype, DType::kF32);  // "dtype": "float32"
  EXPECT_FALSE(c.quantization.has_value());
  EXPECT_EQ(c.raw["transformers_version"], "5.17.0");
}

TEST(ModelConfig, Llama31WithLlama3RopeScaling) {
  json j = llama();
  j["rope_scaling"] = json::parse(R"({"factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
      "original_max_position_embeddings": 8192, "rope_type": "llama3"})");
  const ModelConfig c = parse(j);
  EXPECT_EQ(c.head_dim, 128);
  EXPECT_EQ(c.num_key_value_heads, 8);
  EXPECT_DOUBLE_EQ(c.rope_theta, 500000.0);
  EXPECT_EQ(c.rope_scaling.type, RopeType::kLlama3);
  EXPECT_DOUBLE_EQ(c.rope_scaling.factor, 8.0);
  EXPECT_EQ(c.rope_scaling.original_max_position_embeddings, 8192);
  EXPECT_DOUBLE_EQ(c.rope_scaling.high_freq_factor, 4.0);
  EXPECT_EQ(c.eos_token_ids, (std::vector<int32_t>{128001, 128008, 128009}));
  EXPECT_EQ(c.dtype, DType::kBF16);

  j["rope_scaling"].erase("original_max_position_embeddings");
  expect_error([&] { parse(j); }, ErrorCode::kInvalidArgument,
               {"config.json", "'rope_scaling.original_max_position_embeddings'", "required"});
}

TEST(ModelConfig, RopeScalingSpellings) {
  // Old "type", new "rope_type", both, null, "default".
  EXPECT_EQ(parse(with(llama(), "rope_scaling", {{"type", "linear"}, {"factor", 2.0}})).rope_scaling.type,
            RopeType::kLinear);
  const ModelConfig dyn = parse(with(llama(), "rope_scaling", {{"rope_type", "dynamic"}, {"factor", 2.0}}));
  EXPECT_EQ(dyn.rope_scaling.type, RopeType::kDynamic);
  EXPECT_EQ(dyn.rope_scaling.original_max_position_embeddings, 131072);  // falls back to max_position_embeddings
  EXPECT_EQ(parse(with(llama(), "rope_scaling", {{"type", "dynamic"}, {"rope_type", "dynamic"}, {"factor", 2.0}}))
                .rope_scaling.type,
            RopeType::kDynamic);
  EXPECT_EQ(parse(with(llama(), "rope_scaling", nullptr)).rope_scaling.type, RopeType::kDefault);
  EXPECT_EQ(parse(with(llama(), "rope_scaling", {{"rope_type", "default"}})).rope_scaling.type, RopeType::kDefault);
  expect_error(
      [&] {
        parse(with(llama(), "rope_scaling", {{"type", "linear"}, {"rope_type", "yarn"}, {"factor", 2}}));
      },
      ErrorCode::kInvalidArgument, {"'rope_scaling.rope_type' is 'yarn' but 'type' is 'linear'"});
  expect_error(
      [&] {
        parse(with(llama(), "rope_scaling", {{"type", "linear"}}));
      },
      ErrorCode::kInvalidArgument, {"'rope_scaling.factor' is required"});
  expect_error(
      [&] {
        parse(with(llama(), "rope_scaling", {{"type", "linear"}, {"factor", -1}}));
      },
      ErrorCode::kInvalidArgument, {"'rope_scaling.factor' must be positive"});
  expect_error(
      [&] {
        parse(with(llama(), "rope_scaling", {{"type", "linear"}, {"factor", "2"}}));
      },
      ErrorCode::kInvalidArgument, {"'rope_scaling.factor' must be a number"});
  expect_error([&] { parse(with(llama(), "rope_scaling", "linear")); }, ErrorCode::kInvalidArgument,
               {"'rope_scaling' must be an object"});
}

TEST(ModelConfig, UnknownRopeTypeIsUnsupported) {
  expect_error(
      [&] {
        parse(with(llama(), "rope_scaling", {{"rope_type", "ntk-by-parts"}, {"factor", 2}}));
      },
      ErrorCode::kUnsupported, {"config.json", "rope type 'ntk-by-parts'"});
}

// The MLP runs SiLU: a config asking for another activation is refused, not run wrong.
TEST(ModelConfig, HiddenActOtherThanSiluIsUnsupported) {
  EXPECT_NO_THROW(parse(with(llama(), "hidden_act", "silu")));
  EXPECT_NO_THROW(parse(llama()));  // absent: the families' default
  expect_error([&] { parse(with(llama(), "hidden_act", "gelu_pytorch_tanh")); }, ErrorCode::kUnsupported,
               {"config.json", "hidden_act 'gelu_pytorch_tanh' is not supported"});
}

TEST(ModelConfig, YarnAndLongRope) {
  const ModelConfig yarn = parse(with(llama(), "rope_scaling",
                                      {{"type", "yarn"},
                                       {"factor", 4.0},
                                       {"original_max_position_embeddings", 32768},
                                       {"beta_fast", 16},
                                       {"mscale", 0.707},
                                       {"truncate", false}}));
  EXPECT_EQ(yarn.rope_scaling.type, RopeType::kYarn);
  EXPECT_DOUBLE_EQ(yarn.rope_scaling.beta_fast, 16.0);
  EXPECT_DOUBLE_EQ(yarn.rope_scaling.beta_slow, 1.0);
  EXPECT_EQ(yarn.rope_scaling.mscale, 0.707);
  EXPECT_FALSE(yarn.rope_scaling.attention_factor.has_value());
  EXPECT_FALSE(yarn.rope_scaling.truncate);

  json j = llama();
  j["rope_scaling"] = {{"type", "longrope"},
                       {"short_factor", std::vector<double>(64, 1.0)},
                       {"long_factor", std::vector<double>(64, 2.0)},
                       {"original_max_position_embeddings", 4096}};
  const ModelConfig lr = parse(j);
  EXPECT_EQ(lr.rope_scaling.type, RopeType::kLongRope);
  EXPECT_EQ(lr.rope_scaling.long_factor.size(), 64u);
  j["rope_scaling"]["long_factor"] = std::vector<double>(3, 2.0);
  expect_error([&] { parse(j); }, ErrorCode::kInvalidArgument, {"'long_factor'"});
  j["rope_scaling"]["short_factor"] = std::vector<double>(3, 2.0);
  expect_error([&] { parse(j); }, ErrorCode::kInvalidArgument, {"expected head_dim / 2 = 64"});
}

TEST(ModelConfig, Transformers5RopeParameters) {
  json j = without(without(llama(), "rope_theta"), "torch_dtype");
  j["dtype"] = "float16";
  j["rope_parameters"] = {{"rope_type", "yarn"}, {"rope_theta", 1e6}, {"factor", 4.0}};
  const ModelConfig c = parse(j);
  EXPECT_DOUBLE_EQ(c.rope_theta, 1e6);
  EXPECT_EQ(c.rope_scaling.type, RopeType::kYarn);
  EXPECT_EQ(c.dtype, DType::kF16);
  j["rope_parameters"] = {{"full_attention", {{"rope_type", "default"}}}};
  expect_error([&] { parse(j); }, ErrorCode::kUnsupported, {"per-layer-type"});
}

TEST(ModelConfig, HeadDimAndKvHeadDefaults) {
  json j = without(llama(), "num_key_value_heads");
  EXPECT_EQ(parse(j).num_key_value_heads, 32);
  EXPECT_EQ(parse(with(llama(), "head_dim", nullptr)).head_dim, 128);
  // Qwen3 / Gemma: head_dim independent of hidden / heads.
  EXPECT_EQ(parse(with(with(llama(), "head_dim", 256), "hidden_size", 2560)).head_dim, 256);
}

TEST(ModelConfig, ValidatesSizes) {
  expect_error([&] { parse(without(llama(), "hidden_size")); }, ErrorCode::kInvalidArgument,
               {"config.json: 'hidden_size' is required"});
  expect_error([&] { parse(with(llama(), "num_hidden_layers", 0)); }, ErrorCode::kInvalidArgument,
               {"'num_hidden_layers' must be positive, got 0"});
  expect_error([&] { parse(with(llama(), "vocab_size", -5)); }, ErrorCode::kInvalidArgument, {"'vocab_size'"});
  expect_error([&] { parse(with(llama(), "hidden_size", "4096")); }, ErrorCode::kInvalidArgument,
               {"'hidden_size' must be an integer, got \"4096\""});
  expect_error([&] { parse(with(llama(), "hidden_size", 4096.5)); }, ErrorCode::kInvalidArgument,
               {"must be an integer"});
  expect_error([&] { parse(with(llama(), "hidden_size", 4001)); }, ErrorCode::kInvalidArgument,
               {"'hidden_size' (4001) is not divisible by num_attention_heads (32)"});
  expect_error([&] { parse(with(llama(), "num_key_value_heads", 5)); }, ErrorCode::kInvalidArgument,
               {"'num_key_value_heads' (5) must divide num_attention_heads (32)"});
  expect_error([&] { parse(with(llama(), "num_key_value_heads", 64)); }, ErrorCode::kInvalidArgument, {"must divide"});
  expect_error([&] { parse(with(llama(), "head_dim", 0)); }, ErrorCode::kInvalidArgument, {"'head_dim'"});
  expect_error([&] { parse(with(llama(), "rms_norm_eps", 0)); }, ErrorCode::kInvalidArgument, {"'rms_norm_eps'"});
  expect_error([&] { parse(with(llama(), "rope_theta", -1)); }, ErrorCode::kInvalidArgument, {"'rope_theta'"});
  expect_error([&] { parse(with(llama(), "architectures", json::array())); }, ErrorCode::kInvalidArgument,
               {"'architectures'"});
  expect_error([&] { parse(json::array()); }, ErrorCode::kInvalidArgument, {"config.json: the top level"});
}

TEST(ModelConfig, TokenIdsAndDType) {
  const ModelConfig c = parse(with(with(llama(), "eos_token_id", 2), "pad_token_id", -1));
  EXPECT_EQ(c.eos_token_ids, std::vector<int32_t>{2});
  EXPECT_FALSE(c.pad_token_id.has_value());
  EXPECT_EQ(parse(with(llama(), "pad_token_id", 0)).pad_token_id, 0);
  EXPECT_TRUE(parse(with(llama(), "eos_token_id", nullptr)).eos_token_ids.empty());
  expect_error([&] { parse(with(llama(), "eos_token_id", "</s>")); }, ErrorCode::kInvalidArgument,
               {"'eos_token_id' must be a token id"});
  expect_error(
      [&] {
        parse(with(llama(), "bos_token_id", json::array({1, 2})));
      },
      ErrorCode::kInvalidArgument, {"'bos_token_id'"});
  expect_error([&] { parse(with(llama(), "eos_token_id", 5000000000LL)); }, ErrorCode::kInvalidArgument,
               {"'eos_token_id'"});
  EXPECT_EQ(parse(without(llama(), "torch_dtype")).dtype, DType::kBF16);
  EXPECT_EQ(parse(with(llama(), "torch_dtype", "float32")).dtype, DType::kF32);
  // transformers 5 "dtype" wins over a stale "torch_dtype".
  EXPECT_EQ(parse(with(llama(), "dtype", "float16")).dtype, DType::kF16);
  expect_error([&] { parse(with(llama(), "torch_dtype", "float8_e4m3fn")); }, ErrorCode::kUnsupported,
               {"'torch_dtype' float8_e4m3fn"});
}

TEST(ModelConfig, InternLM2Spellings) {
  json j = llama();
  j["architectures"] = {"InternLM2ForCausalLM"};
  j["bias"] = true;
  j["rope_scaling"] = nullptr;
  const ModelConfig c = parse(j);
  EXPECT_TRUE(c.attention_bias);
  EXPECT_EQ(c.rope_scaling.type, RopeType::kDefault);
  EXPECT_TRUE(c.raw["bias"].get<bool>());
  EXPECT_TRUE(parse(with(llama(), "attention_bias", true)).attention_bias);
  EXPECT_TRUE(parse(with(llama(), "mlp_bias", true)).mlp_bias);
  expect_error([&] { parse(with(llama(), "attention_bias", "yes")); }, ErrorCode::kInvalidArgument,
               {"'attention_bias' must be true or false"});
}

TEST(ModelConfig, Qwen2SlidingWindowIsRecorded) {
  const ModelConfig c = parse(with(with(llama(), "use_sliding_window", false), "sliding_window", 131072));
  EXPECT_FALSE(c.use_sliding_window);
  EXPECT_EQ(c.sliding_window, 131072);
}

TEST(ModelConfig, QuantizationConfig) {
  const ModelConfig awq = parse(
      with(llama(), "quantization_config",
           {{"quant_method", "awq"}, {"bits", 4}, {"group_size", 128}, {"zero_point", true}, {"version", "gemm"}}));
  ASSERT_TRUE(awq.quantization.has_value());
  EXPECT_EQ(awq.quantization->quant_method, "awq");
  EXPECT_EQ(awq.quantization->bits, 4);
  EXPECT_EQ(awq.quantization->group_size, 128);
  EXPECT_TRUE(awq.quantization->zero_point);
  EXPECT_EQ(awq.quantization->raw["version"], "gemm");
  const ModelConfig gptq =
      parse(with(llama(), "quantization_config",
                 {{"quant_method", "gptq"}, {"bits", 4}, {"group_size", -1}, {"sym", false}, {"desc_act", true}}));
  EXPECT_EQ(gptq.quantization->group_size, -1);
  EXPECT_FALSE(gptq.quantization->sym);
  EXPECT_TRUE(gptq.quantization->desc_act);
  expect_error(
      [&] {
        parse(with(llama(), "quantization_config", {{"bits", 4}}));
      },
      ErrorCode::kInvalidArgument, {"'quantization_config.quant_method' is required"});
}

TEST(ModelConfig, InternVLNestsTheLanguageModel) {
  TempDir dir;
  std::ifstream in(std::filesystem::path(TURBOLM_SHARED_DIR) / "models/internvl3-1b-config/config.printout.json");
  ASSERT_TRUE(in.good());
  const json j = json::parse(in);
  const ModelConfig c = ModelConfig::from_json(j, "internvl/config.json");
  EXPECT_EQ(c.architecture, "InternVLChatModel");
  EXPECT_EQ(c.model_type, "internvl_chat");
  EXPECT_EQ(c.text_architecture, "Qwen2ForCausalLM");
  EXPECT_EQ(c.text_model_type, "qwen2");
  EXPECT_EQ(c.hidden_size, 896);
  EXPECT_EQ(c.num_attention_heads, 14);
  EXPECT_EQ(c.num_key_value_heads, 2);
  EXPECT_EQ(c.head_dim, 64);
  EXPECT_EQ(c.num_hidden_layers, 24);
  EXPECT_EQ(c.vocab_size, 151674);
  EXPECT_DOUBLE_EQ(c.rope_theta, 1e6);
  EXPECT_EQ(c.rope_scaling.type, RopeType::kDynamic);
  EXPECT_DOUBLE_EQ(c.rope_scaling.factor, 2.0);
  EXPECT_FALSE(c.tie_word_embeddings);
  EXPECT_EQ(c.eos_token_ids, std::vector<int32_t>{151643});
  EXPECT_EQ(c.dtype, DType::kBF16);

  json bad = j;
  bad["llm_config"].erase("num_attention_heads");
  expect_error([&] { ModelConfig::from_json(bad, "internvl/config.json"); }, ErrorCode::kInvalidArgument,
               {"internvl/config.json: 'llm_config.num_attention_heads' is required"});
}

TEST(ModelConfig, FromDirErrors) {
  TempDir dir;
  expect_error([&] { ModelConfig::from_dir(dir / "absent"); }, ErrorCode::kNotFound, {"absent", "does not exist"});
  expect_error([&] { ModelConfig::from_dir(dir.path()); }, ErrorCode::kNotFound,
               {dir.path().string(), "has no config.json"});
  testing::write_file(dir / "config.json", "{\"hidden_size\": 64,");
  expect_error([&] { ModelConfig::from_dir(dir.path()); }, ErrorCode::kInvalidArgument,
               {(dir / "config.json").string(), "invalid JSON"});
  testing::write_file(dir / "config.json", "{\"hidden_size\": 64}");
  expect_error([&] { ModelConfig::from_dir(dir.path()); }, ErrorCode::kInvalidArgument,
               {(dir / "config.json").string(), "'intermediate_size' is required"});
}

// Nesting deep enough to overflow the stack when the value is copied or printed (audit: a segfault) is refused
// while parsing; a pipe in place of config.json is refused instead of blocking the loader.
TEST(ModelConfig, FromDirRefusesDeepNestingAndNonRegularFiles) {
  TempDir dir;
  const int depth = 100000;
  testing::write_file(dir / "config.json", "{\"x\": " + std::string(depth, '[') + std::string(depth, ']') + "}");
  expect_error([&] { ModelConfig::from_dir(dir.path()); }, ErrorCode::kInvalidArgument,
               {(dir / "config.json").string(), "nested deeper than 256 levels"});
  std::filesystem::remove(dir / "config.json");
  ASSERT_EQ(::mkfifo((dir / "config.json").c_str(), 0600), 0);
  expect_error([&] { ModelConfig::from_dir(dir.path()); }, ErrorCode::kInvalidArgument,
               {(dir / "config.json").string(), "not a regular file"});
}

}  // namespace
}  // namespace turbolm
