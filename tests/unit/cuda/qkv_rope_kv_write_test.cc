// qkv_rope_kv_write on CUDA (the fused kernel, and the separate kernels it falls back to) against the CPU op, which
// runs split, RMSNorm, RoPE and the cache write one after the other in the same dtype.
#include "ops/qkv_rope_kv_write.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include "cuda_test_util.h"

namespace turbolm {
namespace {

using namespace cuda_test;

class CudaQkvRopeKvWriteTest : public ::testing::TestWithParam<KvCase> {};

std::vector<KvCase> all_cases() {
  std::vector<KvCase> cases = kv_matrix_cases();
  // Shapes the fused kernel declines (the op runs the separate kernels): f32 activations, head_dim 32.
  cases.push_back({DType::kF32, 64, KvQuant::kNone});
  cases.push_back({DType::kBF16, 32, KvQuant::kNone});
  return cases;
}
INSTANTIATE_TEST_SUITE_P(Matrix, CudaQkvRopeKvWriteTest, ::testing::ValuesIn(all_cases()), kv_case_name);

constexpr int64_t kQHeads = 8, kKvHeads = 2, kBlockSize = 16, kNumBlocks = 6;

struct Variant {
  bool norm = true;
  DType gamma_dtype = DType::kF32;
  bool neox = true;
  bool partial_rotary = false;
  std::vector<int32_t> positions;
  std::vector<int32_t> slots;  // -1: padding row
};

KvCacheSpec spec_for(const KvCase& c, Device device) {
  KvCacheSpec spec;
  spec.num_layers = 2;
  spec.num_blocks = kNumBlocks;
  spec.block_size = kBlockSize;
  spec.num_kv_heads = kKvHeads;
  spec.head_dim = c.head_dim;
  spec.dtype = c.dtype;
  spec.quant = c.quant;
  spec.device = device;
  return spec;
}

RopeTable table_for(int head_dim, const Variant& v) {
  RopeTable table;
  table.rotary_dim = v.partial_rotary ? head_dim / 2 : head_dim;
  table.neox_style = v.neox;
  table.attention_scaling = 1.25f;  // yarn-style mscale, so that a kernel ignoring it fails
  for (int i = 0; i < table.rotary_dim / 2; ++i)
    table.inv_freq.push_back(static_cast<float>(std::pow(10000.0, -2.0 * i / table.rotary_dim)));
  return table;
}

// Per element: within two units in the last place of the dtype (the norm's f32 sums run in another order on the
// GPU, which can move a rounding by one step), plus a little absolute slack near zero.
void expect_close(const std::vector<float>& got, const std::vector<float>& want, DType dtype, const char* what) {
  ASSERT_EQ(got.size(), want.size());
  const double rel = dtype == DType::kBF16 ? 1.0 / 64 : dtype == DType::kF16 ? 1.0 / 256 : 1e-5;
  size_t bad = 0, first = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    if (!(std::abs(double(got[i]) - want[i]) <= rel * std::abs(want[i]) + 1e-3)) {
      if (bad++ == 0) first = i;
    }
  }
  EXPECT_EQ(bad, 0u) << what << ": first mismatch at " << first << ": got " << got[first] << ", want " << want[first];
}

// The dequantized values (or the plain ones) of one cache tensor's slots, [slot][head][d].
std::vector<float> cache_values(const KvCache& cache, int64_t layer, bool value, const std::vector<int32_t>& slots) {
  const KvCacheSpec& spec = cache.spec();
  const Tensor data = spec.device.is_cpu() ? (value ? cache.value(layer) : cache.key(layer))
                                           : to_host(value ? cache.value(layer) : cache.key(layer));
  std::vector<float> out;
  const int64_t H = spec.num_kv_heads, D = spec.head_dim;
  if (spec.quant == KvQuant::kNone) {
    const std::vector<float> all = values_of(data);
    for (int32_t s : slots)
      if (s >= 0) out.insert(out.end(), all.begin() + s * H * D, all.begin() + (s + 1) * H * D);
    return out;
  }
  const Tensor params = spec.device.is_cpu() ? (value ? cache.value_params(layer) : cache.key_params(layer))
                                             : to_host(value ? cache.value_params(layer) : cache.key_params(layer));
  const auto* bytes = static_cast<const uint8_t*>(data.data());
  const float* p = params.data<float>();
  for (int32_t s : slots) {
    if (s < 0) continue;
    for (int64_t h = 0; h < H; ++h) {
      const float scale = p[(s * H + h) * 2], zero = p[(s * H + h) * 2 + 1];
      for (int64_t d = 0; d < D; ++d) {
        float q;
        if (spec.quant == KvQuant::kInt8) {
          q = static_cast<float>(static_cast<int8_t>(bytes[(s * H + h) * D + d]));
        } else {
          const uint8_t b = bytes[(s * H + h) * (D / 2) + d / 2];
          q = static_cast<float>(d % 2 == 0 ? b & 15 : b >> 4);
        }
        out.push_back((q - zero) * scale);
      }
    }
  }
  return out;
}

// The scale of each (slot, head) of a quantized cache tensor, repeated over D: one quantization step.
std::vector<float> cache_steps(const KvCache& cache, int64_t layer, bool value, const std::vector<int32_t>& slots) {
  const KvCacheSpec& spec = cache.spec();
  const float* p = (value ? cache.value_params(layer) : cache.key_params(layer)).data<float>();
  std::vector<float> out;
  for (int32_t s : slots)
    if (s >= 0)
      for (int64_t h = 0; h < spec.num_kv_heads; ++h)
        out.insert(out.end(), spec.head_dim, p[(s * spec.num_kv_heads + h) * 2]);
  return out;
}

void run_case(const KvCase& c, const Variant& v, uint32_t seed) {
  const int64_t layer = 1, D = c.head_dim, T = static_cast<int64_t>(v.positions.size());
  const int64_t cols = (kQHeads + 2 * kKvHeads) * D;
  const auto qkv = random_values(T * cols, seed, c.dtype, -3.0f, 3.0f);
  const auto q_gamma = random_values(D, seed + 1, v.gamma_dtype, 0.5f, 1.5f);
  const auto k_gamma = random_values(D, seed + 2, v.gamma_dtype, 0.5f, 1.5f);
  const RopeTable table = table_for(static_cast<int>(D), v);
  ExecContext cctx = cpu_ctx(), gctx = gpu_ctx();

  QkNorm cpu_norm, gpu_norm;
  if (v.norm) {
    cpu_norm = QkNorm{host_tensor(q_gamma, {D}, v.gamma_dtype), host_tensor(k_gamma, {D}, v.gamma_dtype), 1e-6f};
    gpu_norm = QkNorm{to_gpu(cpu_norm.q), to_gpu(cpu_norm.k), 1e-6f};
  }
  KvCache cpu_cache(spec_for(c, Device::cpu()));
  KvCache gpu_cache(spec_for(c, Device::cuda(0)));
  const Tensor cpu_qkv = host_tensor(qkv, {T, cols}, c.dtype);
  Tensor cpu_q = Tensor::empty({T, kQHeads, D}, c.dtype);
  qkv_rope_kv_write(cctx, cpu_qkv, cpu_norm, host_i32(v.positions, {T}), table, host_i32(v.slots, {T}), cpu_cache,
                    layer, cpu_q);
  Tensor gpu_q = poisoned_gpu({T, kQHeads, D}, c.dtype);
  const Tensor gpu_qkv = to_gpu(cpu_qkv);
  qkv_rope_kv_write(gctx, gpu_qkv, gpu_norm, to_gpu(host_i32(v.positions, {T})), table, to_gpu(host_i32(v.slots, {T})),
                    gpu_cache, layer, gpu_q);

  EXPECT_EQ(values_of(gpu_qkv), qkv) << "qkv must stay unchanged";
  EXPECT_EQ(values_of(cpu_qkv), qkv) << "qkv must stay unchanged";
  expect_close(values_of(gpu_q), values_of(cpu_q), c.dtype, "q");
  if (c.quant == KvQuant::kNone) {
    expect_close(cache_values(gpu_cache, layer, false, v.slots), cache_values(cpu_cache, layer, false, v.slots),
                 c.dtype, "keys");
    // Values go through no arithmetic: the same elements exactly.
    EXPECT_EQ(cache_values(gpu_cache, layer, true, v.slots), cache_values(cpu_cache, layer, true, v.slots));
    return;
  }
  // Quantized: values are quantized from the same inputs, so the same bytes as the CPU writer; keys may differ by
  // one quantization step where a rounding of the normed / rotated key moved.
  EXPECT_EQ(cache_values(gpu_cache, layer, true, v.slots), cache_values(cpu_cache, layer, true, v.slots));
  const auto got = cache_values(gpu_cache, layer, false, v.slots),
             want = cache_values(cpu_cache, layer, false, v.slots);
  const auto steps = cache_steps(cpu_cache, layer, false, v.slots);
  ASSERT_EQ(got.size(), want.size());
  size_t bad = 0;
  for (size_t i = 0; i < got.size(); ++i) bad += std::abs(got[i] - want[i]) > 1.05f * steps[i] + 1e-2f;
  EXPECT_EQ(bad, 0u) << "dequantized keys more than one step from the CPU writer's";
}

TEST_P(CudaQkvRopeKvWriteTest, DecodeTokenWithQkNorm) {
  TLM_REQUIRE_GPU();
  Variant v;
  v.positions = {37};
  v.slots = {53};
  run_case(GetParam(), v, 11);
}

TEST_P(CudaQkvRopeKvWriteTest, BatchWithPaddingRowsNoNorm) {
  TLM_REQUIRE_GPU();
  Variant v;
  v.norm = false;
  v.positions = {0, 1, 2, 900, 5, 0, 4095};
  v.slots = {3, 4, 5, 80, -1, 17, -1};
  run_case(GetParam(), v, 12);
}

TEST_P(CudaQkvRopeKvWriteTest, GptJPairsPartialRotaryActivationDtypeGamma) {
  TLM_REQUIRE_GPU();
  Variant v;
  v.gamma_dtype = GetParam().dtype;
  v.neox = false;
  v.partial_rotary = true;
  v.positions = {3, 64, 65000};
  v.slots = {0, 95, 40};
  run_case(GetParam(), v, 13);
}

TEST_P(CudaQkvRopeKvWriteTest, NeoxPartialRotary) {
  TLM_REQUIRE_GPU();
  Variant v;
  v.partial_rotary = true;
  v.positions = {7, 1234};
  v.slots = {20, 21};
  run_case(GetParam(), v, 14);
}

}  // namespace
}  // namespace turbolm
