// write_kv_cache: scatters the step's new K/V rows into their cache slots, quantizing for int8 / int4 caches.
#include <type_traits>

#include "kernels/cuda/common.cuh"
#include "kernels/cuda/cuda_ops.h"
#include "kernels/cuda/kv_quant.cuh"

namespace turbolm::cuda {
namespace {

// Plain cache: one block per token, 16-byte copies of all heads of K and V. Slots < 0 are padding.
template <typename T>
__global__ void write_kv_kernel(const T* __restrict__ k, const T* __restrict__ v, const int32_t* __restrict__ slots,
                                T* __restrict__ key_cache, T* __restrict__ value_cache, int row_vecs) {
  begin_dependent_kernel();
  const int64_t t = blockIdx.x;
  const int64_t slot = slots[t];
  if (slot < 0) return;
  for (int c = threadIdx.x; c < row_vecs; c += blockDim.x) {
    Vec<T> kv, vv;
    kv.load_global(k + (t * row_vecs + c) * Vec<T>::kSize);
    vv.load_global(v + (t * row_vecs + c) * Vec<T>::kSize);
    kv.store(key_cache + (slot * row_vecs + c) * Vec<T>::kSize);
    vv.store(value_cache + (slot * row_vecs + c) * Vec<T>::kSize);
  }
}

// Quantized cache: block (token, kv head), warp 0 writes the key, warp 1 the value. Each lane owns
// kPerLane = D / 32 consecutive elements (D a multiple of 64 for int4).
template <typename T, KvQuant Q, int D>
__global__ void write_kv_quant_kernel(const T* __restrict__ k, const T* __restrict__ v,
                                      const int32_t* __restrict__ slots, uint8_t* __restrict__ key_cache,
                                      uint8_t* __restrict__ value_cache, float2* __restrict__ key_params,
                                      float2* __restrict__ value_params, int kv_heads) {
  begin_dependent_kernel();
  constexpr int kPerLane = D / 32;
  const int64_t t = blockIdx.x;
  const int h = blockIdx.y, lane = threadIdx.x & 31;
  const int64_t slot = slots[t];
  if (slot < 0) return;
  const bool is_value = threadIdx.x >= 32;
  const T* src = (is_value ? v : k) + (t * kv_heads + h) * D + lane * kPerLane;
  float x[kPerLane];
#pragma unroll
  for (int e = 0; e < kPerLane; ++e) x[e] = to_float(src[e]);
  const int64_t head_slot = slot * kv_heads + h;
  store_head_quantized<Q, D>(x, (is_value ? value_cache : key_cache) + head_slot * kv_head_bytes<Q>(D),
                             (is_value ? value_params : key_params) + head_slot);
}

// Quantized cache, any head_dim (tiny models) and f32 activations too: block per token, thread per (kv head, K or
// V), serial over the head's D values. Same formulas as store_head_quantized.
template <typename T, KvQuant Q>
__global__ void write_kv_quant_generic_kernel(const T* __restrict__ k, const T* __restrict__ v,
                                              const int32_t* __restrict__ slots, uint8_t* __restrict__ key_cache,
                                              uint8_t* __restrict__ value_cache, float2* __restrict__ key_params,
                                              float2* __restrict__ value_params, int kv_heads, int head_dim) {
  begin_dependent_kernel();
  const int64_t t = blockIdx.x;
  const int64_t slot = slots[t];
  if (slot < 0 || static_cast<int>(threadIdx.x) >= 2 * kv_heads) return;
  const bool is_value = static_cast<int>(threadIdx.x) >= kv_heads;
  const int h = threadIdx.x % kv_heads;
  const T* src = (is_value ? v : k) + (t * kv_heads + h) * head_dim;
  float lo = INFINITY, hi = -INFINITY;
  for (int e = 0; e < head_dim; ++e) {
    lo = fminf(lo, to_float(src[e]));
    hi = fmaxf(hi, to_float(src[e]));
  }
  const float scale = kv_quant_scale<Q>(lo, hi);
  const int64_t head_slot = slot * kv_heads + h;
  store_quantized_run<Q>([&](int e) { return to_float(src[e]); }, head_dim, 0, lo, scale,
                         (is_value ? value_cache : key_cache) + head_slot * kv_head_bytes<Q>(head_dim));
  (is_value ? value_params : key_params)[head_slot] = make_float2(scale, kv_quant_zero<Q>(lo, scale));
}

template <typename T>
void launch_write_kv(const T* k, const T* v, const int32_t* slots, T* key_cache, T* value_cache, int64_t tokens,
                     int64_t row_elems, cudaStream_t stream) {
  TLM_CHECK(row_elems % Vec<T>::kSize == 0) << "write_kv_cache: row of " << row_elems << " elements";
  if (tokens == 0) return;
  const int row_vecs = static_cast<int>(row_elems / Vec<T>::kSize);
  launch_dependent(write_kv_kernel<T>, static_cast<unsigned>(tokens), std::min(256, std::max(32, row_vecs)), 0, stream,
                   k, v, slots, key_cache, value_cache, row_vecs);
}

template <typename T, KvQuant Q, int D>
void launch_write_kv_quant(const T* k, const T* v, const int32_t* slots, uint8_t* key_cache, uint8_t* value_cache,
                           float2* key_params, float2* value_params, int64_t tokens, int kv_heads,
                           cudaStream_t stream) {
  if (tokens == 0) return;
  launch_dependent(write_kv_quant_kernel<T, Q, D>, dim3(static_cast<unsigned>(tokens), kv_heads), 64, 0, stream, k, v,
                   slots, key_cache, value_cache, key_params, value_params, kv_heads);
}

template <typename T, KvQuant Q>
void write_quant(const ExecContext& ctx, const Tensor& k, const Tensor& v, const int32_t* slots, KvCache& cache,
                 int64_t layer) {
  const int64_t head_dim = cache.spec().head_dim;
  auto run = [&]<int D>() {
    launch_write_kv_quant<T, Q, D>(
        static_cast<const T*>(k.data()), static_cast<const T*>(v.data()), slots,
        static_cast<uint8_t*>(cache.key(layer).data()), static_cast<uint8_t*>(cache.value(layer).data()),
        static_cast<float2*>(cache.key_params(layer).data()), static_cast<float2*>(cache.value_params(layer).data()),
        k.dim(0), static_cast<int>(cache.spec().num_kv_heads), stream_of(ctx));
  };
  if constexpr (!std::is_same_v<T, float>) {
    if (head_dim == 64) return run.template operator()<64>();
    if (head_dim == 128) return run.template operator()<128>();
  }
  const int kv_heads = static_cast<int>(cache.spec().num_kv_heads);
  TLM_CHECK(2 * kv_heads <= 1024 && (Q == KvQuant::kInt8 || head_dim % 2 == 0))
      << "write_kv_cache: " << kv_heads << " kv heads of " << head_dim << " values";
  if (k.dim(0) == 0) return;
  launch_dependent(write_kv_quant_generic_kernel<T, Q>, static_cast<unsigned>(k.dim(0)),
                   static_cast<unsigned>(std::max(32, 2 * kv_heads)), 0, stream_of(ctx),
                   static_cast<const T*>(k.data()), static_cast<const T*>(v.data()), slots,
                   static_cast<uint8_t*>(cache.key(layer).data()), static_cast<uint8_t*>(cache.value(layer).data()),
                   static_cast<float2*>(cache.key_params(layer).data()),
                   static_cast<float2*>(cache.value_params(layer).data()), kv_heads, static_cast<int>(head_dim));
}

}  // namespace

void write_kv_cache(const ExecContext& ctx, const Tensor& k, const Tensor& v, const Tensor& slot_mapping,
                    KvCache& cache, int64_t layer) {
  check_on_device(k, "write_kv_cache", "k");
  check_on_device(v, "write_kv_cache", "v");
  check_on_device(slot_mapping, "write_kv_cache", "slot_mapping");
  const KvCacheSpec& spec = cache.spec();
  const int32_t* slots = static_cast<const int32_t*>(slot_mapping.data());
  if (spec.quant == KvQuant::kNone) {
    TLM_CHECK(spec.dtype == k.dtype()) << "write_kv_cache: CUDA needs the cache in the activation dtype "
                                       << dtype_name(k.dtype()) << ", got " << dtype_name(spec.dtype);
    dispatch_float(k.dtype(), "write_kv_cache", [&]<typename T>(T) {
      launch_write_kv<T>(static_cast<const T*>(k.data()), static_cast<const T*>(v.data()), slots,
                         static_cast<T*>(cache.key(layer).data()), static_cast<T*>(cache.value(layer).data()), k.dim(0),
                         spec.num_kv_heads * spec.head_dim, stream_of(ctx));
    });
    return;
  }
  dispatch_float(k.dtype(), "write_kv_cache", [&]<typename T>(T) {
    if (spec.quant == KvQuant::kInt8) {
      write_quant<T, KvQuant::kInt8>(ctx, k, v, slots, cache, layer);
    } else {
      write_quant<T, KvQuant::kInt4>(ctx, k, v, slots, cache, layer);
    }
  });
}

namespace {
template void launch_write_kv<float>(const float*, const float*, const int32_t*, float*, float*, int64_t, int64_t,
                                     cudaStream_t);
template void launch_write_kv<bf16_t>(const bf16_t*, const bf16_t*, const int32_t*, bf16_t*, bf16_t*, int64_t, int64_t,
                                      cudaStream_t);
template void launch_write_kv<f16_t>(const f16_t*, const f16_t*, const int32_t*, f16_t*, f16_t*, int64_t, int64_t,
                                     cudaStream_t);
#define TLM_INSTANTIATE_WRITE_KV_QUANT(T, Q, D)                                                                 \
  template void launch_write_kv_quant<T, Q, D>(const T*, const T*, const int32_t*, uint8_t*, uint8_t*, float2*, \
                                               float2*, int64_t, int, cudaStream_t);
TLM_INSTANTIATE_WRITE_KV_QUANT(bf16_t, KvQuant::kInt8, 64)
TLM_INSTANTIATE_WRITE_KV_QUANT(bf16_t, KvQuant::kInt8, 128)
TLM_INSTANTIATE_WRITE_KV_QUANT(bf16_t, KvQuant::kInt4, 64)
TLM_INSTANTIATE_WRITE_KV_QUANT(bf16_t, KvQuant::kInt4, 128)
TLM_INSTANTIATE_WRITE_KV_QUANT(f16_t, KvQuant::kInt8, 64)
TLM_INSTANTIATE_WRITE_KV_QUANT(f16_t, KvQuant::kInt8, 128)
TLM_INSTANTIATE_WRITE_KV_QUANT(f16_t, KvQuant::kInt4, 64)
TLM_INSTANTIATE_WRITE_KV_QUANT(f16_t, KvQuant::kInt4, 128)
#undef TLM_INSTANTIATE_WRITE_KV_QUANT
}  // namespace

}  // namespace turbolm::cuda
