// Shared by the paged attention kernels: reading K/V rows out of the paged cache (dequantizing on the fly),
// and the launchers paged_attention dispatches to.
#pragma once

#include "kernels/cuda/common.cuh"
#include "ops/kv_cache.h"

namespace turbolm::cuda {

// One layer of the cache as the kernels see it. Element (slot, head, d) of a plain cache sits at
// (slot * heads + head) * head_dim + d; quantized caches keep bytes there (half as many for int4) and
// {scale, zero} per (slot, head).
template <typename T, KvQuant Q>
struct KvLayer {
  const void* key;
  const void* value;
  const float2* key_params;  // quantized caches only
  const float2* value_params;
  int heads;
};

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

// Step geometry shared by both kernels. Device pointers to the AttentionMetadata tensors.
struct AttentionParams {
  const int32_t* query_start;   // [S + 1]
  const int32_t* context_lens;  // [S]
  const int32_t* block_tables;  // [S, table_stride]
  int table_stride;
  int block_size;
  int num_seqs;
  int q_heads;
  int kv_heads;
  float scale_log2;  // softmax scale * log2(e): the kernels use exp2
};

// Decode (every sequence has one query row): split-K over the context, GQA heads of one kv head per block.
template <typename T, KvQuant Q, int D>
void launch_decode_attention(const T* q, const KvLayer<T, Q>& kv, const AttentionParams& p, int max_context_len, T* out,
                             cudaStream_t stream);
// Any mix of prefill chunks and decode rows: flash-attention tiles of 64 queries x 64 keys on tensor cores.
template <typename T, KvQuant Q, int D>
void launch_prefill_attention(const T* q, const KvLayer<T, Q>& kv, const AttentionParams& p, int max_query_len, T* out,
                              cudaStream_t stream);

// Any float dtype (f32 too), any head_dim up to 256, contexts up to 51200 tokens: the fallback for shapes the
// two kernels above are not instantiated for (one block per query row and head; simple, not fast).
template <typename T, KvQuant Q>
void launch_generic_attention(const T* q, const KvLayer<T, Q>& kv, const AttentionParams& p, int num_tokens,
                              int head_dim, int max_context_len, T* out, cudaStream_t stream);

}  // namespace turbolm::cuda
