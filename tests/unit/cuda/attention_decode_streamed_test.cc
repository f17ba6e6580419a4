// The decode attention kernels called directly on device buffers, the streamed one (attention_decode_streamed.cu)
// and the classic one (attention_decode.cu), against the CPU paged_attention op (whose dequantization is the
// reference): plain, int8 and int4 caches, both dtypes and head dims, GQA groups 1 / 4 / 8, cache blocks of 16 and
// 64 tokens, contexts around the 16-token chunks and the 64-token split quantum, long contexts (many splits, one
// split left with a single token), mixed lengths (splits empty for the short sequences) and batches of hundreds of
// sequences.
#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "cuda_test_util.h"
#include "kernels/cuda/attention_launch.cuh"
#include "ops/attention.h"
#include "ops/kv_cache.h"
#include "paged_attention_util.h"

namespace turbolm {
namespace {

using namespace cuda_test;

constexpr int64_t kKvHeads = 2;

struct DecodeCase {
  DType dtype;
  int head_dim;
  int group;  // query heads per kv head
  int block_size;
  KvQuant quant;
};

std::string case_name(const ::testing::TestParamInfo<DecodeCase>& info) {
  const DecodeCase& c = info.param;
  return std::string(dtype_label(c.dtype)) + "_d" + std::to_string(c.head_dim) + "_g" + std::to_string(c.group) + "_b" +
         std::to_string(c.block_size) + "_" + kv_quant_label(c.quant);
}

std::vector<DecodeCase> all_cases() {
  std::vector<DecodeCase> cases;
  for (DType dt : {DType::kBF16, DType::kF16})
    for (int d : {64, 128})
      for (int group : {1, 4, 8})
        for (int block : {16, 64})
          for (KvQuant q : {KvQuant::kNone, KvQuant::kInt8, KvQuant::kInt4}) cases.push_back({dt, d, group, block, q});
  return cases;
}

class CudaDecodeAttentionTest : public ::testing::TestWithParam<DecodeCase> {};
INSTANTIATE_TEST_SUITE_P(Matrix, CudaDecodeAttentionTest, ::testing::ValuesIn(all_cases()), case_name);

enum class DecodeKernel { kStreamed, kClassic };

// Device inputs of one decode step: q [S, Hq, D] in the case's dtype and the cache layer as stored (plain:
// [blocks, block_size, Hkv, D] in the case's dtype; quantized: bytes plus {scale, zero} per (slot, head)).
struct DeviceStep {
  Tensor q, key, value, key_params, value_params;  // params: quantized caches only
  AttentionMetadata meta;
  int64_t q_heads;
  float scale;
};

template <typename T, KvQuant Q, int D>
void launch_typed(DecodeKernel kernel, const DeviceStep& in, Tensor& out) {
  const cuda::KvLayer<T, Q> kv{
      in.key.data(), in.value.data(), Q == KvQuant::kNone ? nullptr : static_cast<const float2*>(in.key_params.data()),
      Q == KvQuant::kNone ? nullptr : static_cast<const float2*>(in.value_params.data()), static_cast<int>(kKvHeads)};
  const cuda::AttentionParams params = cuda::attention_params(in.meta, in.key.dim(1), in.q_heads, kKvHeads, in.scale);
  const T* q = static_cast<const T*>(in.q.data());
  T* o = static_cast<T*>(out.data());
  const int max_context_len = static_cast<int>(in.meta.max_context_len);
  if (kernel == DecodeKernel::kStreamed) {
    cuda::launch_decode_attention_streamed<T, Q, D>(q, kv, params, max_context_len, o, nullptr);
  } else {
    cuda::launch_decode_attention<T, Q, D>(q, kv, params, max_context_len, o, nullptr);
  }
}

template <typename T, KvQuant Q>
void launch_quant(DecodeKernel kernel, const DecodeCase& c, const DeviceStep& in, Tensor& out) {
  c.head_dim == 128 ? launch_typed<T, Q, 128>(kernel, in, out) : launch_typed<T, Q, 64>(kernel, in, out);
}

template <typename T>
void launch_dtype(DecodeKernel kernel, const DecodeCase& c, const DeviceStep& in, Tensor& out) {
  switch (c.quant) {
    case KvQuant::kNone: return launch_quant<T, KvQuant::kNone>(kernel, c, in, out);
    case KvQuant::kInt8: return launch_quant<T, KvQuant::kInt8>(kernel, c, in, out);
    case KvQuant::kInt4: return launch_quant<T, KvQuant::kInt4>(kernel, c, in, out);
  }
}

void launch(DecodeKernel kernel, const DecodeCase& c, const DeviceStep& in, Tensor& out) {
  c.dtype == DType::kBF16 ? launch_dtype<__nv_bfloat16>(kernel, c, in, out) : launch_dtype<__half>(kernel, c, in, out);
}

// The paged layout of one decode row per sequence of the given context lengths.
PagedStep decode_step(const std::vector<int>& context_lens, int64_t block_size, uint32_t seed) {
  std::vector<std::pair<int, int>> seqs;
  for (int len : context_lens) seqs.emplace_back(1, len);
  return make_paged_step(seqs, block_size, seed);
}

// One layer of the case's cache over the step's blocks.
KvCacheSpec cache_spec(const DecodeCase& c, const PagedStep& step, Device device) {
  KvCacheSpec spec;
  spec.num_layers = 1;
  spec.num_blocks = step.num_blocks;
  spec.block_size = c.block_size;
  spec.num_kv_heads = kKvHeads;
  spec.head_dim = c.head_dim;
  spec.dtype = c.dtype;
  spec.quant = c.quant;
  spec.device = device;
  return spec;
}

// One decode row per sequence of the given context lengths, K and V uniform in [lo, hi]; both kernels against the
// CPU op.
void check_decode(const DecodeCase& c, const std::vector<int>& context_lens, uint32_t seed, float lo = -2.0f,
                  float hi = 2.0f) {
  const int64_t D = c.head_dim, q_heads = kKvHeads * c.group;
  const PagedStep step = decode_step(context_lens, c.block_size, seed);
  const int64_t T = step.num_tokens, N = static_cast<int64_t>(step.all_slots.size());

  KvCache cache(cache_spec(c, step, Device::cpu()));  // on the host; the device reads a copy of its bytes
  const auto k = random_values(N * kKvHeads * D, seed + 1, c.dtype, lo, hi);
  const auto v = random_values(N * kKvHeads * D, seed + 2, c.dtype, lo, hi);
  const auto q = random_values(T * q_heads * D, seed + 3, c.dtype, -2.0f, 2.0f);
  ExecContext cctx = cpu_ctx();
  write_kv_cache(cctx, host_tensor(k, {N, kKvHeads, D}, DType::kF32), host_tensor(v, {N, kKvHeads, D}, DType::kF32),
                 host_i32(step.all_slots, {N}), cache, 0);

  const AttentionMetadata meta = host_metadata(step);
  const float scale = 1.0f / std::sqrt(static_cast<float>(D));
  Tensor want = Tensor::empty({T, q_heads, D}, DType::kF32);
  paged_attention(cctx, host_tensor(q, {T, q_heads, D}, DType::kF32), cache, 0, meta, scale, want);

  const bool quantized = c.quant != KvQuant::kNone;
  const DeviceStep in{to_gpu(host_tensor(q, {T, q_heads, D}, c.dtype)),
                      to_gpu(cache.key(0)),
                      to_gpu(cache.value(0)),
                      quantized ? to_gpu(cache.key_params(0)) : Tensor(),
                      quantized ? to_gpu(cache.value_params(0)) : Tensor(),
                      device_metadata(meta),
                      q_heads,
                      scale};
  for (DecodeKernel kernel : {DecodeKernel::kStreamed, DecodeKernel::kClassic}) {
    SCOPED_TRACE(kernel == DecodeKernel::kStreamed ? "streamed kernel" : "classic kernel");
    Tensor got = poisoned_gpu({T, q_heads, D}, c.dtype);
    launch(kernel, c, in, got);
    ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);
    EXPECT_LE(relative_error(values_of(got), values_of(want)), tolerance(c.dtype));
  }
}

// Around the 16-token chunk and the 64-token split quantum; 257 leaves one token in the last split, 3000 takes
// dozens of splits.
TEST_P(CudaDecodeAttentionTest, ContextLengths) {
  TLM_REQUIRE_GPU();
  for (int len : {1, 31, 32, 33, 257, 3000}) {
    SCOPED_TRACE("context " + std::to_string(len));
    check_decode(GetParam(), {len}, 500 + len);
  }
}

TEST_P(CudaDecodeAttentionTest, MixedLengths) {
  TLM_REQUIRE_GPU();
  check_decode(GetParam(), {1, 31, 3000, 32, 33, 257, 64, 100}, 600);
}

// K and V far from zero: quantized rows get large zero points (int8 about -190, int4 about -4), which the streamed
// kernel takes out of its integer sums.
TEST_P(CudaDecodeAttentionTest, OffsetValues) {
  TLM_REQUIRE_GPU();
  check_decode(GetParam(), {1, 31, 257, 3000}, 650, 1.0f, 5.0f);
}

// Enough sequences for several blocks per SM without splitting; then one long context among them, so that most
// sequences' later splits are empty and the long one fills a whole split.
TEST_P(CudaDecodeAttentionTest, ManySequences) {
  TLM_REQUIRE_GPU();
  std::vector<int> lens;
  for (int i = 0; i < 300; ++i) lens.push_back(1 + (37 * i) % 500);
  check_decode(GetParam(), lens, 700);
  lens[123] = 2500;
  check_decode(GetParam(), lens, 800);
}

// A decode step as the model runs it: the kernel just ahead on the stream (write_kv_cache, launched
// programmatically) stores each sequence's newest K/V row, and decode attention may start before that kernel ends,
// loading the K/V of earlier tokens before its dependency wait. The newest rows hold other values until the write, so
// a kernel that read them early would see those. Contexts put the newest token first, last and in the middle of a
// 16-token chunk, in a warp's first chunks (loaded early) and in later ones.
TEST_P(CudaDecodeAttentionTest, NewestRowsWrittenByTheKernelJustAhead) {
  TLM_REQUIRE_GPU();
  const DecodeCase& c = GetParam();
  const int64_t D = c.head_dim, q_heads = kKvHeads * c.group;
  const std::vector<int> lens = {1, 15, 16, 17, 40, 64, 65, 200, 257, 3000};
  const PagedStep step = decode_step(lens, c.block_size, 900);
  const int64_t S = step.num_seqs, N = static_cast<int64_t>(step.all_slots.size());
  const auto k = random_values(N * kKvHeads * D, 901, c.dtype, -2.0f, 2.0f);
  const auto v = random_values(N * kKvHeads * D, 902, c.dtype, -2.0f, 2.0f);
  const auto q = random_values(S * q_heads * D, 903, c.dtype, -2.0f, 2.0f);
  const auto stale_k = random_values(S * kKvHeads * D, 904, c.dtype, 3.0f, 6.0f);
  const auto stale_v = random_values(S * kKvHeads * D, 905, c.dtype, 3.0f, 6.0f);
  std::vector<float> newest_k, newest_v;  // [S, kKvHeads, D]: the rows of each context's last token
  int64_t end = 0;
  for (int len : lens) {
    end += len;
    const int64_t row = (end - 1) * kKvHeads * D;
    newest_k.insert(newest_k.end(), k.begin() + row, k.begin() + row + kKvHeads * D);
    newest_v.insert(newest_v.end(), v.begin() + row, v.begin() + row + kKvHeads * D);
  }

  KvCache cpu_cache(cache_spec(c, step, Device::cpu()));
  KvCache gpu_cache(cache_spec(c, step, Device::cuda(0)));
  ExecContext cctx = cpu_ctx(), gctx = gpu_ctx();
  write_kv_cache(cctx, host_tensor(k, {N, kKvHeads, D}, DType::kF32), host_tensor(v, {N, kKvHeads, D}, DType::kF32),
                 host_i32(step.all_slots, {N}), cpu_cache, 0);
  const AttentionMetadata meta = host_metadata(step);
  const float scale = 1.0f / std::sqrt(static_cast<float>(D));
  Tensor want = Tensor::empty({S, q_heads, D}, DType::kF32);
  paged_attention(cctx, host_tensor(q, {S, q_heads, D}, DType::kF32), cpu_cache, 0, meta, scale, want);

  // Every row as the CPU has it, then the newest ones stale; everything the step reads is on the device before it.
  write_kv_cache(gctx, to_gpu(host_tensor(k, {N, kKvHeads, D}, c.dtype)),
                 to_gpu(host_tensor(v, {N, kKvHeads, D}, c.dtype)), to_gpu(host_i32(step.all_slots, {N})), gpu_cache,
                 0);
  const Tensor step_slots = to_gpu(host_i32(step.step_slots, {S}));
  write_kv_cache(gctx, to_gpu(host_tensor(stale_k, {S, kKvHeads, D}, c.dtype)),
                 to_gpu(host_tensor(stale_v, {S, kKvHeads, D}, c.dtype)), step_slots, gpu_cache, 0);
  const Tensor fresh_k = to_gpu(host_tensor(newest_k, {S, kKvHeads, D}, c.dtype));
  const Tensor fresh_v = to_gpu(host_tensor(newest_v, {S, kKvHeads, D}, c.dtype));
  const bool quantized = c.quant != KvQuant::kNone;
  const DeviceStep in{to_gpu(host_tensor(q, {S, q_heads, D}, c.dtype)),
                      gpu_cache.key(0),
                      gpu_cache.value(0),
                      quantized ? gpu_cache.key_params(0) : Tensor(),
                      quantized ? gpu_cache.value_params(0) : Tensor(),
                      device_metadata(meta),
                      q_heads,
                      scale};
  Tensor got = poisoned_gpu({S, q_heads, D}, c.dtype);
  ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);
  // Nothing between the write and the attention on the stream: the two kernels form a programmatic chain.
  write_kv_cache(gctx, fresh_k, fresh_v, step_slots, gpu_cache, 0);
  launch(DecodeKernel::kStreamed, c, in, got);
  ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);
  EXPECT_LE(relative_error(values_of(got), values_of(want)), tolerance(c.dtype));
}

}  // namespace
}  // namespace turbolm
