// A Qwen3-shaped model with head_dim 64 and bf16 weights (random, written here) on the GPU with bf16 activations,
// against the CPU backend (f32 activations, same weights), logits step by step with teacher forcing. This is the
// path a real bf16 checkpoint takes and the tiny fixtures (f32, head_dim 16 / 32) do not: the decode GEMV (1
// sequence), the skinny GEMM (5 sequences), the fused q/k norm + RoPE + KV write, the streamed decode attention,
// the prefill attention on tensor cores and CUDA-graph decode steps; plain and int8 KV caches.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <numeric>
#include <random>

#include "cuda_test_util.h"
#include "io/safetensors_writer.h"
#include "models/model.h"
#include "ops/elementwise.h"

namespace turbolm {
namespace {

namespace fs = std::filesystem;
using cuda_test::relative_error;
using cuda_test::tolerance;

constexpr int64_t kHidden = 256, kHeads = 4, kKvHeads = 2, kHeadDim = 64, kInter = 512, kLayers = 2, kVocab = 384;

// Normal(0, std) values (or uniform [lo, hi) for norms) stored as bf16.
Tensor random_bf16(const Shape& shape, std::mt19937& rng, float std_dev, float lo = 0.0f, float hi = 0.0f) {
  Tensor t = Tensor::empty(shape, DType::kBF16);
  std::normal_distribution<float> normal(0.0f, std_dev);
  std::uniform_real_distribution<float> uniform(lo, hi);
  for (int64_t i = 0; i < t.numel(); ++i) t.data<bf16>()[i] = float_to_bf16(hi > lo ? uniform(rng) : normal(rng));
  return t;
}

fs::path write_model() {
  const fs::path dir = fs::temp_directory_path() / "turbolm_cuda_model_bf16_d64";
  fs::create_directories(dir);
  nlohmann::json config = {{"architectures", {"Qwen3ForCausalLM"}},
                           {"model_type", "qwen3"},
                           {"hidden_size", kHidden},
                           {"num_attention_heads", kHeads},
                           {"num_key_value_heads", kKvHeads},
                           {"head_dim", kHeadDim},
                           {"intermediate_size", kInter},
                           {"num_hidden_layers", kLayers},
                           {"vocab_size", kVocab},
                           {"max_position_embeddings", 1024},
                           {"rms_norm_eps", 1e-6},
                           {"rope_theta", 1000000.0},
                           {"hidden_act", "silu"},
                           {"tie_word_embeddings", false},
                           {"bos_token_id", 1},
                           {"eos_token_id", 2},
                           {"torch_dtype", "bfloat16"}};
  std::ofstream(dir / "config.json") << config.dump(2);
  std::mt19937 rng(2026);
  const float w = 1.0f / std::sqrt(static_cast<float>(kHidden)), w_down = 1.0f / std::sqrt(static_cast<float>(kInter));
  NamedTensors tensors;
  tensors.emplace_back("model.embed_tokens.weight", random_bf16({kVocab, kHidden}, rng, 1.0f));
  for (int64_t l = 0; l < kLayers; ++l) {
    const std::string p = "model.layers." + std::to_string(l) + ".";
    tensors.emplace_back(p + "input_layernorm.weight", random_bf16({kHidden}, rng, 0, 0.8f, 1.2f));
    tensors.emplace_back(p + "post_attention_layernorm.weight", random_bf16({kHidden}, rng, 0, 0.8f, 1.2f));
    tensors.emplace_back(p + "self_attn.q_proj.weight", random_bf16({kHeads * kHeadDim, kHidden}, rng, w));
    tensors.emplace_back(p + "self_attn.k_proj.weight", random_bf16({kKvHeads * kHeadDim, kHidden}, rng, w));
    tensors.emplace_back(p + "self_attn.v_proj.weight", random_bf16({kKvHeads * kHeadDim, kHidden}, rng, w));
    tensors.emplace_back(p + "self_attn.o_proj.weight", random_bf16({kHidden, kHeads * kHeadDim}, rng, w));
    tensors.emplace_back(p + "self_attn.q_norm.weight", random_bf16({kHeadDim}, rng, 0, 0.8f, 1.2f));
    tensors.emplace_back(p + "self_attn.k_norm.weight", random_bf16({kHeadDim}, rng, 0, 0.8f, 1.2f));
    tensors.emplace_back(p + "mlp.gate_proj.weight", random_bf16({kInter, kHidden}, rng, w));
    tensors.emplace_back(p + "mlp.up_proj.weight", random_bf16({kInter, kHidden}, rng, w));
    tensors.emplace_back(p + "mlp.down_proj.weight", random_bf16({kHidden, kInter}, rng, w_down));
  }
  tensors.emplace_back("model.norm.weight", random_bf16({kHidden}, rng, 0, 0.8f, 1.2f));
  tensors.emplace_back("lm_head.weight", random_bf16({kVocab, kHidden}, rng, 2.0f * w));
  write_safetensors(dir / "model.safetensors", tensors);
  return dir;
}

// Prefills `seqs` prompts in one step, then decodes `steps` steps feeding token (17 s + 5 i + 3) % vocab to
// sequence s at step i (the same inputs on both devices, whatever their outputs). Returns every step's logits.
std::vector<std::vector<float>> run(Model& model, int seqs, int steps, KvQuant quant) {
  ExecContext ctx;
  ctx.device = model.device();
  const int32_t block = 16, per_seq = 8;
  KvCache cache(model.kv_cache_spec(seqs * per_seq + 1, block, quant));
  std::vector<std::vector<int32_t>> tables(seqs);
  ForwardBatch batch;
  for (int s = 0; s < seqs; ++s) {
    for (int b = per_seq - 1; b >= 0; --b) tables[s].push_back(1 + s * per_seq + b);  // shuffled, not block 0
    const int32_t len = 9 + 7 * s, start = static_cast<int32_t>(batch.token_ids.size());
    for (int32_t i = 0; i < len; ++i) {
      batch.token_ids.push_back((31 * s + 11 * i + 3) % kVocab);
      batch.positions.push_back(i);
    }
    batch.seqs.push_back({start, len, len, tables[s], true});
  }
  std::vector<std::vector<float>> out;
  for (int step = 0; step <= steps; ++step) {
    const Tensor logits = model.forward(ctx, batch, cache);
    out.push_back(cuda_test::values_of(logits));
    ForwardBatch next;
    for (int s = 0; s < seqs; ++s) {
      const int32_t context = batch.seqs[s].context_len;
      next.token_ids.push_back((17 * s + 5 * step + 3) % kVocab);
      next.positions.push_back(context);
      next.seqs.push_back({s, 1, context + 1, tables[s], true});
    }
    batch = std::move(next);
  }
  return out;
}

class CudaBf16ModelTest : public ::testing::TestWithParam<std::tuple<int, KvQuant>> {};

INSTANTIATE_TEST_SUITE_P(Batches, CudaBf16ModelTest,
                         ::testing::Combine(::testing::Values(1, 5), ::testing::Values(KvQuant::kNone, KvQuant::kInt8)),
                         [](const auto& info) {
                           return std::to_string(std::get<0>(info.param)) + "_seqs_" +
                                  (std::get<1>(info.param) == KvQuant::kNone ? "plain" : "int8");
                         });

TEST_P(CudaBf16ModelTest, LogitsMatchTheCpuBackend) {
  TLM_REQUIRE_GPU();
  const auto [seqs, quant] = GetParam();
  const fs::path dir = write_model();
  LoadOptions gpu_options;
  gpu_options.device = Device::cuda(0);
  gpu_options.activation_dtype = DType::kBF16;
  auto gpu = load_model(dir, gpu_options);
  auto cpu = load_model(dir, LoadOptions{});
  const int steps = 20;
  const auto want = run(*cpu, seqs, steps, quant);
  const auto got = run(*gpu, seqs, steps, quant);
  ASSERT_EQ(got.size(), want.size());
  for (size_t step = 0; step < want.size(); ++step) {
    EXPECT_LE(relative_error(got[step], want[step]), tolerance(DType::kBF16)) << "step " << step;
  }
}

}  // namespace
}  // namespace turbolm
