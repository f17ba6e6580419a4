// Shared by the paged attention kernels: reading K/V rows out of the paged cache (dequantizing on the fly).
// The launchers and the structs they take are in attention_launch.cuh (host-only).
#pragma once

#include "kernels/cuda/attention_launch.cuh"
#include "kernels/cuda/common.cuh"

namespace turbolm::cuda {

// Eight consecutive cache elements [d0, d0 + 8) of one (slot, head), as stored: split into the load and the
// conversion so that a kernel can keep many loads in flight in few registers (16 / 8 / 4 bytes a row).
template <typename T, KvQuant Q>
struct KvRaw;
template <typename T>
struct KvRaw<T, KvQuant::kNone> {
  Vec<T> v;
  __device__ __forceinline__ void to_float(float (&out)[8]) const {
#pragma unroll
    for (int e = 0; e < 8; ++e) out[e] = cuda::to_float(v.v[e]);
  }
};
template <typename T>
struct KvRaw<T, KvQuant::kInt8> {
  uint2 q;
  float2 p;
  __device__ __forceinline__ void to_float(float (&out)[8]) const {
    const int8_t* b = reinterpret_cast<const int8_t*>(&q);
#pragma unroll
    for (int e = 0; e < 8; ++e) out[e] = (static_cast<float>(b[e]) - p.y) * p.x;
  }
};
template <typename T>
struct KvRaw<T, KvQuant::kInt4> {
  uint32_t q;
  float2 p;
  __device__ __forceinline__ void to_float(float (&out)[8]) const {
#pragma unroll
    for (int e = 0; e < 8; ++e) out[e] = (static_cast<float>((q >> (4 * e)) & 0xfu) - p.y) * p.x;
  }
};

template <typename T, KvQuant Q, int D>
__device__ __forceinline__ void load_kv_raw(const void* cache, const float2* params, int64_t slot, int heads, int head,
                                            int d0, KvRaw<T, Q>& raw) {
  const int64_t row = slot * heads + head;
  if constexpr (Q == KvQuant::kNone) {
    raw.v.load_global(static_cast<const T*>(cache) + row * D + d0);
  } else if constexpr (Q == KvQuant::kInt8) {
    raw.q = __ldg(reinterpret_cast<const uint2*>(static_cast<const int8_t*>(cache) + row * D + d0));
    raw.p = __ldg(params + row);
  } else {
    raw.q = __ldg(reinterpret_cast<const uint32_t*>(static_cast<const uint8_t*>(cache) + row * (D / 2) + d0 / 2));
    raw.p = __ldg(params + row);
  }
}

// Eight consecutive elements [d0, d0 + 8) of head `head` at `slot`, as floats (d0 a multiple of 8).
template <typename T, KvQuant Q, int D>
__device__ __forceinline__ void load_kv8(const void* cache, const float2* params, int64_t slot, int heads, int head,
                                         int d0, float (&out)[8]) {
  KvRaw<T, Q> raw;
  load_kv_raw<T, Q, D>(cache, params, slot, heads, head, d0, raw);
  raw.to_float(out);
}

// Cache slot of logical token `pos` of a sequence whose block table row is `table`.
__device__ __forceinline__ int64_t kv_slot(const int32_t* table, int pos, int block_size) {
  return int64_t{table[pos / block_size]} * block_size + pos % block_size;
}

}  // namespace turbolm::cuda
