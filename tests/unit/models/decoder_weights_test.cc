// Loading failures name the folder and tensor; load-time transforms are exact.
#include "models/decoder_weights.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "io/safetensors_writer.h"
#include "models/model.h"
#include "models/registry.h"

namespace turbolm {
namespace {

namespace fs = std::filesystem;

// A 1-layer model folder: hidden 8, 2 heads of 4, 1 kv head, intermediate 6, vocab 10.
class TinyFolder : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("turbolm_weights_" + std::to_string(::getpid()) + "_" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  void write_config(const std::string& arch, bool tied) {
    std::ofstream(dir_ / "config.json")
        << R"({"architectures":[")" << arch << R"("],"hidden_size":8,"intermediate_size":6,"num_hidden_layers":1,)"
        << R"("num_attention_heads":2,"num_key_value_heads":1,"vocab_size":10,)"
        << R"("max_position_embeddings":64,"rms_norm_eps":1e-5,"torch_dtype":"float32",)"
        << R"("tie_word_embeddings":)" << (tied ? "true" : "false") << "}";
  }

  static Tensor filled(const Shape& shape, float start) {
    Tensor t = Tensor::zeros(shape, DType::kF32);
    for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = start + static_cast<float>(i);
    return t;
  }

  NamedTensors llama_tensors() {
    NamedTensors t = {{"model.embed_tokens.weight", filled({10, 8}, 0)},
                      {"model.norm.weight", filled({8}, 1)},
                      {"model.layers.0.input_layernorm.weight", filled({8}, 1)},
                      {"model.layers.0.post_attention_layernorm.weight", filled({8}, 1)},
                      {"model.layers.0.self_attn.q_proj.weight", filled({8, 8}, 0)},
                      {"model.layers.0.self_attn.k_proj.weight", filled({4, 8}, 100)},
                      {"model.layers.0.self_attn.v_proj.weight", filled({4, 8}, 200)},
                      {"model.layers.0.self_attn.o_proj.weight", filled({8, 8}, 0)},
                      {"model.layers.0.mlp.gate_proj.weight", filled({6, 8}, 0)},
                      {"model.layers.0.mlp.up_proj.weight", filled({6, 8}, 1000)},
                      {"model.layers.0.mlp.down_proj.weight", filled({8, 6}, 0)}};
    return t;
  }

  // What loading the folder writes to stderr (the warnings).
  std::string load_log() const {
    ::testing::internal::CaptureStderr();
    load_model(dir_);
    return ::testing::internal::GetCapturedStderr();
  }

  fs::path dir_;
};

TEST_F(TinyFolder, FusesGateUpAndTiesLmHead) {
  write_config("LlamaForCausalLM", true);
  write_safetensors(dir_ / "model.safetensors", llama_tensors());
  const ModelConfig config = ModelConfig::from_dir(dir_);
  const WeightSource source = WeightSource::open_dir(dir_);
  DecoderWeights w = load_decoder_weights(config, find_family("LlamaForCausalLM"), source, Device::cpu());
  const Tensor& gu = w.layers[0].gate_up.weight;
  ASSERT_EQ(gu.shape(), (Shape{12, 8}));
  EXPECT_EQ(gu.data<float>()[0], 0.0f);
  EXPECT_EQ(gu.data<float>()[6 * 8], 1000.0f);  // up rows follow gate rows
  EXPECT_EQ(w.lm_head.weight.data(), w.embed.data());
}

TEST_F(TinyFolder, UngroupsInternLM2Wqkv) {
  write_config("InternLM2ForCausalLM", false);
  NamedTensors t = llama_tensors();
  // One kv head with 2 query heads: wqkv rows = [q0 (4 rows), q1, k, v].
  NamedTensors renamed = {{"model.tok_embeddings.weight", t[0].second},
                          {"model.norm.weight", t[1].second},
                          {"output.weight", filled({10, 8}, 0)},
                          {"model.layers.0.attention_norm.weight", t[2].second},
                          {"model.layers.0.ffn_norm.weight", t[3].second},
                          {"model.layers.0.attention.wqkv.weight", filled({16, 8}, 0)},
                          {"model.layers.0.attention.wo.weight", t[7].second},
                          {"model.layers.0.feed_forward.w1.weight", t[8].second},
                          {"model.layers.0.feed_forward.w3.weight", t[9].second},
                          {"model.layers.0.feed_forward.w2.weight", t[10].second}};
  write_safetensors(dir_ / "model.safetensors", renamed);
  DecoderWeights w = load_decoder_weights(ModelConfig::from_dir(dir_), find_family("InternLM2ForCausalLM"),
                                          WeightSource::open_dir(dir_), Device::cpu());
  // Fused back in q | k | v order: [q0, q1] rows 0..7, k rows 8..11, v rows 12..15.
  const Tensor& qkv = w.layers[0].qkv.weight;
  EXPECT_EQ(qkv.shape(), (Shape{16, 8}));
  EXPECT_EQ(qkv.data<float>()[4 * 8], 32.0f);   // q head 1 = packed rows 4..7
  EXPECT_EQ(qkv.data<float>()[8 * 8], 64.0f);   // k = packed rows 8..11
  EXPECT_EQ(qkv.data<float>()[12 * 8], 96.0f);  // v = packed rows 12..15
}

TEST_F(TinyFolder, MissingTensorNamesIt) {
  write_config("LlamaForCausalLM", true);
  NamedTensors t = llama_tensors();
  t.erase(t.begin() + 6);  // v_proj
  write_safetensors(dir_ / "model.safetensors", t);
  try {
    load_model(dir_);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("model.layers.0.self_attn.v_proj.weight"), std::string::npos) << e.what();
  }
}

// A checkpoint with more layers than config.json names loads what config.json asks for, with a warning (as
// transformers does): the output will not be the checkpoint's model.
TEST_F(TinyFolder, LayersPastTheConfigAreAWarning) {
  write_config("LlamaForCausalLM", true);
  NamedTensors t = llama_tensors();
  t.push_back({"model.layers.1.input_layernorm.weight", filled({8}, 1)});
  write_safetensors(dir_ / "model.safetensors", t);
  const std::string log = load_log();
  EXPECT_NE(log.find("layers past num_hidden_layers = 1"), std::string::npos) << log;
}

// Tensors the model does not read are named in a warning (audit: a stray tensor and a tied checkpoint's head of
// the wrong shape loaded silently); a tied checkpoint's head of the right shape and RoPE's inv_freq buffers are not.
TEST_F(TinyFolder, UnusedTensorsAreAWarning) {
  write_config("LlamaForCausalLM", true);
  NamedTensors t = llama_tensors();
  t.push_back({"model.layers.0.self_attn.rotary_emb.inv_freq", filled({2}, 1)});
  write_safetensors(dir_ / "model.safetensors", t);
  EXPECT_EQ(load_log().find("not used"), std::string::npos);

  t.push_back({"foo.bar", filled({3}, 0)});
  t.push_back({"lm_head.weight", filled({5, 8}, 0)});
  write_safetensors(dir_ / "model.safetensors", t);
  const std::string log = load_log();
  EXPECT_NE(log.find("1 tensor(s) of the checkpoint are not used by LlamaForCausalLM: foo.bar"), std::string::npos)
      << log;
  EXPECT_NE(log.find("tensor 'lm_head.weight' has shape [5, 8], but tie_word_embeddings uses the embedding"),
            std::string::npos)
      << log;
}

TEST_F(TinyFolder, WrongShapeIsInvalidArgument) {
  write_config("LlamaForCausalLM", true);
  NamedTensors t = llama_tensors();
  t[5].second = filled({8, 8}, 0);  // k_proj should be [4, 8]
  write_safetensors(dir_ / "model.safetensors", t);
  try {
    load_model(dir_);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument);
    EXPECT_NE(std::string(e.what()).find("k_proj"), std::string::npos) << e.what();
  }
}

TEST_F(TinyFolder, IntegerWeightIsUnsupported) {
  write_config("LlamaForCausalLM", true);
  NamedTensors t = llama_tensors();
  t[4].second = Tensor::zeros({8, 8}, DType::kI8);
  write_safetensors(dir_ / "model.safetensors", t);
  try {
    load_model(dir_);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kUnsupported);
    EXPECT_NE(std::string(e.what()).find("q_proj"), std::string::npos) << e.what();
  }
}

TEST_F(TinyFolder, UnknownArchitecture) {
  std::ofstream(dir_ / "config.json") << R"({"architectures":["FalconForCausalLM"],"hidden_size":8,)"
                                      << R"("intermediate_size":6,"num_hidden_layers":1,"num_attention_heads":2,)"
                                      << R"("vocab_size":10,"max_position_embeddings":64})";
  write_safetensors(dir_ / "model.safetensors", llama_tensors());
  EXPECT_THROW(load_model(dir_), Error);
}

}  // namespace
}  // namespace turbolm
