// Paged attention for the shapes the tuned kernels leave out: f32 activations and head dims other than 64 / 128
// (tiny test models, stories260K). Correctness first: block = (query row, query head); scores of the row's
// whole causal context in shared memory, f32 throughout. Not used for the dtypes / head dims of real models.
#include "kernels/cuda/attention.cuh"

namespace turbolm::cuda {
namespace {

constexpr int kThreads = 128;
constexpr int kMaxHeadDim = 256;

// Element d of head `head` at `slot`, as float.
template <typename T, KvQuant Q>
__device__ __forceinline__ float kv_elem(const void* cache, const float2* params, int64_t slot, int heads, int head,
                                         int head_dim, int d) {
  const int64_t row = slot * heads + head;
  if constexpr (Q == KvQuant::kNone) {
    return to_float(static_cast<const T*>(cache)[row * head_dim + d]);
  } else if constexpr (Q == KvQuant::kInt8) {
    const float2 p = params[row];
    return (static_cast<float>(static_cast<const int8_t*>(cache)[row * head_dim + d]) - p.y) * p.x;
  } else {
    const float2 p = params[row];
    const uint8_t byte = static_cast<const uint8_t*>(cache)[row * (head_dim / 2) + d / 2];
    return (static_cast<float>(d % 2 == 0 ? byte & 0xfu : byte >> 4) - p.y) * p.x;
  }
}

template <typename T, KvQuant Q>
__global__ void __launch_bounds__(kThreads) generic_kernel(const T* __restrict__ q, const KvLayer<T, Q> kv,
                                                           const AttentionParams p, int head_dim, T* __restrict__ out) {
  begin_dependent_kernel();
  extern __shared__ float scores[];  // [context]
  __shared__ float q_s[kMaxHeadDim];
  __shared__ float scratch[32];
  const int row = blockIdx.x, head = blockIdx.y;
  int s = 0;  // the sequence owning this query row
  while (s + 1 < p.num_seqs && p.query_start[s + 1] <= row) ++s;
  const int q_len = p.query_start[s + 1] - p.query_start[s];
  const int pos = p.context_lens[s] - q_len + (row - p.query_start[s]);
  const int kv_head = head / (p.q_heads / p.kv_heads);
  const int32_t* table = p.block_tables + int64_t{s} * p.table_stride;
  for (int d = threadIdx.x; d < head_dim; d += kThreads)
    q_s[d] = to_float(q[(int64_t{row} * p.q_heads + head) * head_dim + d]) * p.scale_log2;
  __syncthreads();

  float m = -INFINITY;
  for (int j = threadIdx.x; j <= pos; j += kThreads) {
    const int64_t slot = kv_slot(table, j, p.block_size);
    float dot = 0.0f;
    for (int d = 0; d < head_dim; ++d)
      dot += q_s[d] * kv_elem<T, Q>(kv.key, kv.key_params, slot, kv.heads, kv_head, head_dim, d);
    scores[j] = dot;
    m = fmaxf(m, dot);
  }
  m = block_max(m, scratch);
  float l = 0.0f;
  for (int j = threadIdx.x; j <= pos; j += kThreads) {
    scores[j] = exp2f(scores[j] - m);
    l += scores[j];
  }
  l = block_sum(l, scratch);  // its barriers also publish the scores
  for (int d = threadIdx.x; d < head_dim; d += kThreads) {
    float acc = 0.0f;
    for (int j = 0; j <= pos; ++j)
      acc += scores[j] *
             kv_elem<T, Q>(kv.value, kv.value_params, kv_slot(table, j, p.block_size), kv.heads, kv_head, head_dim, d);
    out[(int64_t{row} * p.q_heads + head) * head_dim + d] = from_float<T>(acc / l);
  }
}

}  // namespace

template <typename T, KvQuant Q>
void launch_generic_attention(const T* q, const KvLayer<T, Q>& kv, const AttentionParams& p, int num_tokens,
                              int head_dim, int max_context_len, T* out, cudaStream_t stream) {
  if (num_tokens == 0) return;
  TLM_CHECK(head_dim <= kMaxHeadDim) << "paged_attention: head_dim " << head_dim << " above " << kMaxHeadDim;
  // + 4 floats: the compiler may load a few scores past the causal end speculatively (shared loads cannot fault;
  // compute-sanitizer reports them), and the values are never used.
  const size_t smem = (size_t(max_context_len) + 4) * sizeof(float);
  TLM_CHECK(smem <= 200 * 1024) << "paged_attention: the generic CUDA kernel (f32 or head_dim " << head_dim
                                << ") holds contexts up to 51200 tokens, not " << max_context_len;
  if (smem > 48 * 1024)
    CUDA_CHECK(cudaFuncSetAttribute(generic_kernel<T, Q>, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                    static_cast<int>(smem)));
  launch_dependent(generic_kernel<T, Q>, dim3(num_tokens, p.q_heads), kThreads, smem, stream, q, kv, p, head_dim, out);
}

#define TLM_INSTANTIATE_GENERIC(T, Q)                                                                                 \
  template void launch_generic_attention<T, Q>(const T*, const KvLayer<T, Q>&, const AttentionParams&, int, int, int, \
                                               T*, cudaStream_t);
TLM_INSTANTIATE_GENERIC(float, KvQuant::kNone)
TLM_INSTANTIATE_GENERIC(float, KvQuant::kInt8)
TLM_INSTANTIATE_GENERIC(float, KvQuant::kInt4)
TLM_INSTANTIATE_GENERIC(bf16_t, KvQuant::kNone)
TLM_INSTANTIATE_GENERIC(bf16_t, KvQuant::kInt8)
TLM_INSTANTIATE_GENERIC(bf16_t, KvQuant::kInt4)
TLM_INSTANTIATE_GENERIC(f16_t, KvQuant::kNone)
TLM_INSTANTIATE_GENERIC(f16_t, KvQuant::kInt8)
TLM_INSTANTIATE_GENERIC(f16_t, KvQuant::kInt4)
#undef TLM_INSTANTIATE_GENERIC

}  // namespace turbolm::cuda
