// write_kv_cache and paged_attention on CUDA against the CPU ops: every (dtype, head_dim, kv-quant) of the
// instantiation matrix plus the generic kernel's f32 / small-head cases: decode batches (split-K over long
// contexts), prefill, chunked prefill and mixed steps.
#include "ops/attention.h"

#include <gtest/gtest.h>

#include <cstring>

#include "cuda_test_util.h"
#include "ops/kv_cache.h"
#include "paged_attention_util.h"

namespace turbolm {
namespace {

using namespace cuda_test;

class CudaAttentionTest : public ::testing::TestWithParam<KvCase> {};

std::vector<KvCase> all_cases() {
  std::vector<KvCase> cases = kv_matrix_cases();
  // The generic kernel: f32 activations and head dims outside {64, 128}.
  cases.push_back({DType::kF32, 32, KvQuant::kNone});
  cases.push_back({DType::kF32, 16, KvQuant::kNone});
  cases.push_back({DType::kBF16, 32, KvQuant::kNone});
  // The generic quantized writer (any head_dim, f32 activations too): bytes equal to the CPU writer's.
  cases.push_back({DType::kF32, 32, KvQuant::kInt8});
  cases.push_back({DType::kF32, 16, KvQuant::kInt4});
  cases.push_back({DType::kBF16, 32, KvQuant::kInt4});
  return cases;
}
INSTANTIATE_TEST_SUITE_P(Matrix, CudaAttentionTest, ::testing::ValuesIn(all_cases()), kv_case_name);

constexpr int64_t kBlockSize = 16, kKvHeads = 2, kQHeads = 8;

// One step: per sequence (query_len, context_len); all context tokens but the query ones were cached earlier.
struct Step {
  std::vector<std::pair<int, int>> seqs;
};

KvCacheSpec spec_for(const KvCase& c, int64_t num_blocks, Device device) {
  KvCacheSpec spec;
  spec.num_layers = 2;
  spec.num_blocks = num_blocks;
  spec.block_size = kBlockSize;
  spec.num_kv_heads = kKvHeads;
  spec.head_dim = c.head_dim;
  spec.dtype = c.dtype;
  spec.quant = c.quant;
  spec.device = device;
  return spec;
}

// Fills both caches through their writers (the GPU bytes must equal the CPU bytes), then runs both attentions.
void run_step(const KvCase& c, const Step& step, uint32_t seed, int64_t q_heads = kQHeads) {
  const int64_t layer = 1, D = c.head_dim;
  const PagedStep paged = make_paged_step(step.seqs, kBlockSize, seed);
  const int64_t T = paged.num_tokens, num_blocks = paged.num_blocks;
  const std::vector<int32_t>& all_slots = paged.all_slots;
  const int64_t N = static_cast<int64_t>(all_slots.size());
  const auto k = random_values(N * kKvHeads * D, seed + 1, c.dtype, -2.0f, 2.0f);
  const auto v = random_values(N * kKvHeads * D, seed + 2, c.dtype, -2.0f, 2.0f);
  const auto q = random_values(T * q_heads * D, seed + 3, c.dtype, -2.0f, 2.0f);

  ExecContext cctx = cpu_ctx(), gctx = gpu_ctx();
  KvCache cpu_cache(spec_for(c, num_blocks, Device::cpu()));
  KvCache gpu_cache(spec_for(c, num_blocks, Device::cuda(0)));
  write_kv_cache(cctx, host_tensor(k, {N, kKvHeads, D}, DType::kF32), host_tensor(v, {N, kKvHeads, D}, DType::kF32),
                 host_i32(all_slots, {N}), cpu_cache, layer);
  // The GPU writer must produce the same bytes as the CPU writer.
  write_kv_cache(gctx, to_gpu(host_tensor(k, {N, kKvHeads, D}, c.dtype)),
                 to_gpu(host_tensor(v, {N, kKvHeads, D}, c.dtype)), to_gpu(host_i32(all_slots, {N})), gpu_cache, layer);
  auto slot_bytes = [&](const Tensor& t) { return t.nbytes() / (num_blocks * kBlockSize); };
  auto compare_slots = [&](const Tensor& cpu_t, const Tensor& gpu_t, const char* what) {
    if (!cpu_t.defined()) return;
    const Tensor host = to_host(gpu_t);
    const size_t bytes = slot_bytes(cpu_t);
    if (c.quant == KvQuant::kNone && cpu_t.dtype() != gpu_t.dtype()) return;
    size_t mismatched = 0;
    for (int32_t slot : all_slots)
      mismatched += std::memcmp(static_cast<const char*>(cpu_t.data()) + slot * bytes,
                                static_cast<const char*>(host.data()) + slot * bytes, bytes) != 0;
    EXPECT_EQ(mismatched, 0u) << what << ": slots differing from the CPU writer";
  };
  compare_slots(cpu_cache.key(layer), gpu_cache.key(layer), "keys");
  compare_slots(cpu_cache.value(layer), gpu_cache.value(layer), "values");
  compare_slots(cpu_cache.key_params(layer), gpu_cache.key_params(layer), "key params");
  compare_slots(cpu_cache.value_params(layer), gpu_cache.value_params(layer), "value params");

  const AttentionMetadata cpu_meta = host_metadata(paged);
  const AttentionMetadata gpu_meta = device_metadata(cpu_meta);
  const float scale = 1.0f / std::sqrt(static_cast<float>(D));
  Tensor cpu_out = Tensor::empty({T, q_heads, D}, DType::kF32);
  paged_attention(cctx, host_tensor(q, {T, q_heads, D}, DType::kF32), cpu_cache, layer, cpu_meta, scale, cpu_out);
  Tensor gpu_out = poisoned_gpu({T, q_heads, D}, c.dtype);
  paged_attention(gctx, to_gpu(host_tensor(q, {T, q_heads, D}, c.dtype)), gpu_cache, layer, gpu_meta, scale, gpu_out);
  EXPECT_LE(relative_error(values_of(gpu_out), values_of(cpu_out)), tolerance(c.dtype));
}

TEST_P(CudaAttentionTest, DecodeBatch) {
  TLM_REQUIRE_GPU();
  run_step(GetParam(), Step{{{1, 1}, {1, 77}, {1, 700}, {1, 33}}}, 100);
}

// GQA groups wider than 4 (7: one block of up to 8 heads; 9: two blocks, 8 + 1 heads), and a long context.
TEST_P(CudaAttentionTest, DecodeWideGroups) {
  TLM_REQUIRE_GPU();
  run_step(GetParam(), Step{{{1, 1}, {1, 77}, {1, 700}, {1, 33}}}, 150, 14);
  run_step(GetParam(), Step{{{1, 1}, {1, 77}, {1, 3000}}}, 160, 18);
}

TEST_P(CudaAttentionTest, DecodeLongContextSplits) {
  TLM_REQUIRE_GPU();
  run_step(GetParam(), Step{{{1, 5000}}}, 200);
}

TEST_P(CudaAttentionTest, Prefill) {
  TLM_REQUIRE_GPU();
  run_step(GetParam(), Step{{{100, 100}, {7, 7}}}, 300);
}

TEST_P(CudaAttentionTest, ChunkedPrefillAndDecodeMixed) {
  TLM_REQUIRE_GPU();
  run_step(GetParam(), Step{{{37, 300}, {1, 90}, {130, 130}}}, 400);
}

}  // namespace
}  // namespace turbolm
