// The paged attention kernels' launchers and the plain structs they take. Host-only declarations (no device
// code), so plain C++ files may include it: paged_attention (attention.cu) picks among these, and the tests and
// benchmarks call the decode kernels directly to compare them. T is __nv_bfloat16 or __half.
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime_api.h>

#include <numbers>

#include "ops/attention.h"
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

// Step geometry shared by the kernels. Device pointers to the AttentionMetadata tensors.
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

// Layer `layer` of `cache` as the kernels see it (T: the cache's activation type; Q: its quantization).
template <typename T, KvQuant Q>
KvLayer<T, Q> kv_layer(const KvCache& cache, int64_t layer) {
  return {cache.key(layer).data(), cache.value(layer).data(),
          Q == KvQuant::kNone ? nullptr : static_cast<const float2*>(cache.key_params(layer).data()),
          Q == KvQuant::kNone ? nullptr : static_cast<const float2*>(cache.value_params(layer).data()),
          static_cast<int>(cache.spec().num_kv_heads)};
}

// A step's geometry from its metadata (device tensors); `scale` is the softmax scale.
inline AttentionParams attention_params(const AttentionMetadata& meta, int64_t block_size, int64_t q_heads,
                                        int64_t kv_heads, float scale) {
  return {static_cast<const int32_t*>(meta.query_start.data()),
          static_cast<const int32_t*>(meta.context_lens.data()),
          static_cast<const int32_t*>(meta.block_tables.data()),
          static_cast<int>(meta.block_tables.dim(1)),
          static_cast<int>(block_size),
          static_cast<int>(meta.num_seqs),
          static_cast<int>(q_heads),
          static_cast<int>(kv_heads),
          scale * std::numbers::log2e_v<float>};
}

// Decode (every sequence has one query row): split-K over the context, GQA heads of one kv head per block.
template <typename T, KvQuant Q, int D>
void launch_decode_attention(const T* q, const KvLayer<T, Q>& kv, const AttentionParams& p, int max_context_len, T* out,
                             cudaStream_t stream);

// The widest GQA group (q_heads / kv_heads) launch_decode_attention_streamed takes.
inline constexpr int kStreamedDecodeMaxGroup = 8;
// Decode with one pass over K/V streamed through a cp.async ring in shared memory, tensor-core math on the stored
// values (attention_decode_streamed.cu): the faster kernel where it applies (groups up to kStreamedDecodeMaxGroup).
// T in {__nv_bfloat16, __half}, Q any, D in {64, 128}.
template <typename T, KvQuant Q, int D>
void launch_decode_attention_streamed(const T* q, const KvLayer<T, Q>& kv, const AttentionParams& p,
                                      int max_context_len, T* out, cudaStream_t stream);

// Any mix of prefill chunks and decode rows: flash-attention tiles of 64 queries x 64 keys on tensor cores.
template <typename T, KvQuant Q, int D>
void launch_prefill_attention(const T* q, const KvLayer<T, Q>& kv, const AttentionParams& p, int max_query_len, T* out,
                              cudaStream_t stream);

// Any float dtype (f32 too), any head_dim up to 256, contexts up to 51200 tokens: the fallback for shapes the
// kernels above are not instantiated for (one block per query row and head; simple, not fast).
template <typename T, KvQuant Q>
void launch_generic_attention(const T* q, const KvLayer<T, Q>& kv, const AttentionParams& p, int num_tokens,
                              int head_dim, int max_context_len, T* out, cudaStream_t stream);

// The instantiation matrix of the decode, streamed decode and prefill launchers, in one list: X(T, Q, D) for
// {bf16, f16} x {none, int8, int4} x head_dim {64, 128}. Expanded in the .cu files (bf16_t / f16_t: common.cuh).
#define TLM_FOR_EACH_PAGED_ATTENTION_INSTANCE(X) \
  X(bf16_t, KvQuant::kNone, 64)                  \
  X(bf16_t, KvQuant::kNone, 128)                 \
  X(bf16_t, KvQuant::kInt8, 64)                  \
  X(bf16_t, KvQuant::kInt8, 128)                 \
  X(bf16_t, KvQuant::kInt4, 64)                  \
  X(bf16_t, KvQuant::kInt4, 128)                 \
  X(f16_t, KvQuant::kNone, 64)                   \
  X(f16_t, KvQuant::kNone, 128)                  \
  X(f16_t, KvQuant::kInt8, 64)                   \
  X(f16_t, KvQuant::kInt8, 128)                  \
  X(f16_t, KvQuant::kInt4, 64)                   \
  X(f16_t, KvQuant::kInt4, 128)

}  // namespace turbolm::cuda
