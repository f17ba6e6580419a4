// qkv_rope_kv_write: the qkv projection's output -> per-head RMSNorm -> RoPE -> q_out and the paged KV cache, in one
// kernel instead of five (split, two norms, rope, cache write): at decode batch sizes each of those is a few
// microseconds of launch and dependency latency per layer for a few kilobytes of work.
#include "kernels/cuda/common.cuh"
#include "kernels/cuda/cuda_ops.h"
#include "kernels/cuda/kv_quant.cuh"
#include "kernels/cuda/rope_args.cuh"

namespace turbolm::cuda {
namespace {

constexpr int kWarps = 4;  // heads per block
constexpr int kThreads = kWarps * 32;

struct NormArgs {
  const void* q_gamma;  // [D], nullptr: no norm
  const void* k_gamma;  // [D]
  bool gamma_f32;       // gammas are f32 (else the activation dtype)
  float eps;
};

struct KvOut {
  void* key;  // [blocks * block_size, Hkv, D] elements, or D (int8) / D / 2 (int4) bytes per head
  void* value;
  float2* key_params;  // quantized caches: [blocks * block_size, Hkv] {scale, zero}
  float2* value_params;
};

template <typename T>
__device__ __forceinline__ float round_to(float v) {
  return to_float(from_float<T>(v));
}

// Grid (T, ceil((Hq + 2 Hkv) / kWarps)): warp w of block (t, b) takes head b * kWarps + w of token t's row, which
// holds Hq q heads, then Hkv k heads, then Hkv v heads, D values each. Lane l owns elements [l * D / 32, + D / 32).
// Every stage rounds to T where the separate ops store T: after the norm, after RoPE.
template <typename T, KvQuant Q, int D>
__global__ void __launch_bounds__(kThreads)
    qkv_rope_kv_kernel(const T* __restrict__ qkv, const NormArgs norm, const int32_t* __restrict__ positions,
                       const int32_t* __restrict__ slots, const __grid_constant__ RopeArgs rope, const KvOut kv,
                       T* __restrict__ q_out) {
  begin_dependent_kernel();
  constexpr int kPerLane = D / 32;
  __shared__ float rotate_src[kWarps][D];  // one head's values, for RoPE's partner elements
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  const int64_t t = blockIdx.x;
  const int q_heads = rope.q_heads, kv_heads = rope.k_heads, heads = q_heads + 2 * kv_heads;
  const int head = blockIdx.y * kWarps + warp;
  if (head >= heads) return;
  const int kind = head < q_heads ? 0 : head < q_heads + kv_heads ? 1 : 2;  // q, k, v
  const int64_t slot = kind == 0 ? 0 : slots[t];
  if (slot < 0) return;  // padding row: nothing to cache

  const T* src = qkv + (t * heads + head) * D + lane * kPerLane;
  float x[kPerLane];
#pragma unroll
  for (int e = 0; e < kPerLane; ++e) x[e] = to_float(src[e]);

  if (kind != 2) {
    if (norm.q_gamma != nullptr) {  // y = x / sqrt(mean(x^2) + eps) * gamma, as rms_norm computes it
      const void* gamma = kind == 0 ? norm.q_gamma : norm.k_gamma;
      float sum_sq = 0.0f;
#pragma unroll
      for (int e = 0; e < kPerLane; ++e) sum_sq += x[e] * x[e];
      const float inv_rms = rsqrtf(warp_sum(sum_sq) / static_cast<float>(D) + norm.eps);
#pragma unroll
      for (int e = 0; e < kPerLane; ++e) {
        const int i = lane * kPerLane + e;
        const float g =
            norm.gamma_f32 ? static_cast<const float*>(gamma)[i] : to_float(static_cast<const T*>(gamma)[i]);
        x[e] = round_to<T>(x[e] * inv_rms * g);
      }
    }
#pragma unroll
    for (int e = 0; e < kPerLane; ++e) rotate_src[warp][lane * kPerLane + e] = x[e];
    __syncwarp();
    const float pos = static_cast<float>(positions[t]);
    const int half = rope.half_rotary;
#pragma unroll
    for (int e = 0; e < kPerLane; ++e) {
      const int i = lane * kPerLane + e;
      if (i >= 2 * half) continue;  // partial rotary: the tail stays
      // neox: pairs (j, j + half); GPT-J: pairs (2j, 2j + 1). The first of a pair gets x0 cos - x1 sin, the
      // second x1 cos + x0 sin, with the angle position * inv_freq[j] in f32 as transformers computes it.
      const bool first = rope.neox ? i < half : (i & 1) == 0;
      const int j = rope.neox ? (first ? i : i - half) : i >> 1;
      const int partner = rope.neox ? (first ? i + half : i - half) : i ^ 1;
      float sin_v, cos_v;
      sincosf(__fmul_rn(pos, rope.inv_freq[j]), &sin_v, &cos_v);
      cos_v *= rope.scaling;
      sin_v *= rope.scaling;
      const float other = rotate_src[warp][partner];
      x[e] = round_to<T>(first ? x[e] * cos_v - other * sin_v : x[e] * cos_v + other * sin_v);
    }
  }

  if (kind == 0) {
    T* dst = q_out + (t * q_heads + head) * D + lane * kPerLane;
#pragma unroll
    for (int e = 0; e < kPerLane; ++e) dst[e] = from_float<T>(x[e]);
    return;
  }
  const int64_t head_slot = slot * kv_heads + (kind == 1 ? head - q_heads : head - q_heads - kv_heads);
  if constexpr (Q == KvQuant::kNone) {
    T* dst = static_cast<T*>(kind == 1 ? kv.key : kv.value) + head_slot * D + lane * kPerLane;
#pragma unroll
    for (int e = 0; e < kPerLane; ++e) dst[e] = from_float<T>(x[e]);
  } else {
    store_head_quantized<Q, D>(x,
                               static_cast<uint8_t*>(kind == 1 ? kv.key : kv.value) + head_slot * kv_head_bytes<Q>(D),
                               (kind == 1 ? kv.key_params : kv.value_params) + head_slot);
  }
}

template <typename T, KvQuant Q, int D>
void launch(const T* qkv, const NormArgs& norm, const int32_t* positions, const int32_t* slots, const RopeArgs& rope,
            const KvOut& kv, T* q_out, int64_t tokens, cudaStream_t stream) {
  const int heads = rope.q_heads + 2 * rope.k_heads;
  launch_dependent(qkv_rope_kv_kernel<T, Q, D>,
                   dim3(static_cast<unsigned>(tokens), static_cast<unsigned>(ceil_div(heads, kWarps))), kThreads, 0,
                   stream, qkv, norm, positions, slots, rope, kv, q_out);
}

}  // namespace

bool qkv_rope_kv_write(const ExecContext& ctx, const Tensor& qkv, const QkNorm& norm, const Tensor& positions,
                       const RopeTable& table, const Tensor& slot_mapping, KvCache& cache, int64_t layer,
                       Tensor& q_out) {
  const KvCacheSpec& spec = cache.spec();
  const int64_t D = spec.head_dim;
  const DType dtype = qkv.dtype();
  if ((dtype != DType::kBF16 && dtype != DType::kF16) || (D != 64 && D != 128)) return false;
  if (spec.quant == KvQuant::kNone && spec.dtype != dtype) return false;
  if (table.rotary_dim <= 0 || table.rotary_dim > D || table.rotary_dim % 2 != 0 ||
      static_cast<int>(table.inv_freq.size()) != table.rotary_dim / 2)
    return false;
  NormArgs norm_args{nullptr, nullptr, false, norm.eps};
  if (norm.defined()) {
    const DType g = norm.q.dtype();
    if (norm.k.dtype() != g || (g != DType::kF32 && g != dtype)) return false;
    norm_args = NormArgs{norm.q.data(), norm.k.data(), g == DType::kF32, norm.eps};
  }
  const RopeArgs rope = rope_args(table, static_cast<int>(D), static_cast<int>(q_out.dim(1)),
                                  static_cast<int>(spec.num_kv_heads), "qkv_rope_kv_write");
  KvOut kv{cache.key(layer).data(), cache.value(layer).data(), nullptr, nullptr};
  if (spec.quant != KvQuant::kNone) {
    kv.key_params = static_cast<float2*>(cache.key_params(layer).data());
    kv.value_params = static_cast<float2*>(cache.value_params(layer).data());
  }
  const auto* pos = static_cast<const int32_t*>(positions.data());
  const auto* slots = static_cast<const int32_t*>(slot_mapping.data());
  const int64_t tokens = qkv.dim(0);
  dispatch_half(dtype, "qkv_rope_kv_write", [&]<typename T>(T) {
    auto run = [&]<KvQuant Q, int Dim>() {
      launch<T, Q, Dim>(static_cast<const T*>(qkv.data()), norm_args, pos, slots, rope, kv,
                        static_cast<T*>(q_out.data()), tokens, stream_of(ctx));
    };
    auto by_dim = [&]<KvQuant Q>() {
      if (D == 64) return run.template operator()<Q, 64>();
      run.template operator()<Q, 128>();
    };
    switch (spec.quant) {
      case KvQuant::kNone: return by_dim.template operator()<KvQuant::kNone>();
      case KvQuant::kInt8: return by_dim.template operator()<KvQuant::kInt8>();
      case KvQuant::kInt4: return by_dim.template operator()<KvQuant::kInt4>();
    }
  });
  return true;
}

}  // namespace turbolm::cuda
