// Paged decode attention: one query row per sequence. Block = (sequence, kv head, group slice, context split):
// the block reads each K/V row of its split once for all (up to G) query heads sharing that kv head,
// keeps the split's scores in shared memory, and writes a normalised partial output with its max and sum;
// a second kernel merges the splits (skipped when there is one; attention_combine.cuh).
#include "kernels/cuda/attention_combine.cuh"

namespace turbolm::cuda {
namespace {

constexpr int kWarps = 8;
constexpr int kThreads = kWarps * 32;
// Query heads per block G: 4 for GQA groups up to 4 (Llama 3, Qwen3, Mistral: 80 registers, 3 blocks per SM;
// 4 rows in flight per lane group: +18% at 64 sequences x 2048 tokens), else 8 (2 blocks per SM); larger groups
// take several blocks.
constexpr int kMaxSplit = 256;  // context tokens per block
constexpr int kSplitQuantum = 64;

template <typename T, KvQuant Q, int D, int G>
__global__ void __launch_bounds__(kThreads, G <= 4 ? 3 : 2)
    decode_kernel(const T* __restrict__ q, const KvLayer<T, Q> kv, const AttentionParams p, int split_len,
                  int num_splits, int group_slices, T* __restrict__ out, float* __restrict__ part_o,
                  float2* __restrict__ part_ml) {
  begin_dependent_kernel();
  constexpr int kLanes = D / 8;  // lanes per K/V row, 8 elements each
  constexpr int kRowsPerWarp = 32 / kLanes;
  constexpr int kLoadsInFlight = G <= 4 ? 4 : 8;  // K/V rows each lane group loads before using the first
  __shared__ __align__(16) float q_s[G][D];
  __shared__ float score_s[G][kMaxSplit];
  __shared__ float red_s[kWarps][G][D];
  __shared__ float2 ml_s[G];

  const int s = blockIdx.x, split = blockIdx.z;
  const int kv_head = blockIdx.y / group_slices, slice = blockIdx.y % group_slices;
  const int group = p.q_heads / p.kv_heads;
  const int head0 = kv_head * group + slice * G;
  const int heads = min(G, group - slice * G);
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, sub = lane / kLanes, col = (lane % kLanes) * 8;
  const int context = p.context_lens[s];
  const int begin = split * split_len, end = min(context, begin + split_len);
  const int q_row = p.query_start[s];
  const int32_t* table = p.block_tables + int64_t{s} * p.table_stride;

  for (int i = threadIdx.x; i < heads * D; i += kThreads)
    q_s[i / D][i % D] = to_float(q[(int64_t{q_row} * p.q_heads + head0 + i / D) * D + i % D]) * p.scale_log2;
  __syncthreads();

  // Scores: lane group `sub` of each warp takes one row at a time, kLoadsInFlight rows' loads issued together.
  for (int base = begin + warp * kRowsPerWarp; base < end; base += kWarps * kRowsPerWarp * kLoadsInFlight) {
    KvRaw<T, Q> raw[kLoadsInFlight];
#pragma unroll
    for (int u = 0; u < kLoadsInFlight; ++u) {
      const int pos = base + u * kWarps * kRowsPerWarp + sub;
      if (pos < end)
        load_kv_raw<T, Q, D>(kv.key, kv.key_params, kv_slot(table, pos, p.block_size), kv.heads, kv_head, col, raw[u]);
    }
#pragma unroll
    for (int u = 0; u < kLoadsInFlight; ++u) {
      const int pos = base + u * kWarps * kRowsPerWarp + sub;
      if (base + u * kWarps * kRowsPerWarp >= end) break;  // warp-uniform: no row of this step is valid
      float k8[8] = {};
      if (pos < end) raw[u].to_float(k8);
#pragma unroll
      for (int g = 0; g < G; ++g) {
        if (g >= heads) break;
        // Two 16-byte shared loads per head: scalar loads of q (lanes 8 floats apart) were 4-way bank conflicts,
        // 32 per row and head, and bound the kernel.
        const float4 qa = *reinterpret_cast<const float4*>(&q_s[g][col]);
        const float4 qb = *reinterpret_cast<const float4*>(&q_s[g][col + 4]);
        float dot = qa.x * k8[0] + qa.y * k8[1] + qa.z * k8[2] + qa.w * k8[3];
        dot += qb.x * k8[4] + qb.y * k8[5] + qb.z * k8[6] + qb.w * k8[7];
#pragma unroll
        for (int o = kLanes / 2; o > 0; o >>= 1) dot += __shfl_xor_sync(0xffffffffu, dot, o);
        if (pos < end && lane % kLanes == 0) score_s[g][pos - begin] = dot;
      }
    }
  }
  __syncthreads();

  // Softmax statistics of the split, one warp per head; scores become exp2(score - max).
  const int n = max(end - begin, 0);
  for (int g = warp; g < heads; g += kWarps) {
    float m = -INFINITY;
    for (int i = lane; i < n; i += 32) m = fmaxf(m, score_s[g][i]);
    m = warp_max(m);
    float l = 0.0f;
    for (int i = lane; i < n; i += 32) {
      const float e = exp2f(score_s[g][i] - m);
      score_s[g][i] = e;
      l += e;
    }
    l = warp_sum(l);
    if (lane == 0) ml_s[g] = make_float2(m, l);
  }
  __syncthreads();

  // Values: acc[g][e] over this lane group's rows, then across lane groups and warps.
  float acc[G][8] = {};
  for (int base = begin + warp * kRowsPerWarp; base < end; base += kWarps * kRowsPerWarp * kLoadsInFlight) {
    KvRaw<T, Q> raw[kLoadsInFlight];
#pragma unroll
    for (int u = 0; u < kLoadsInFlight; ++u) {
      const int pos = base + u * kWarps * kRowsPerWarp + sub;
      if (pos < end)
        load_kv_raw<T, Q, D>(kv.value, kv.value_params, kv_slot(table, pos, p.block_size), kv.heads, kv_head, col,
                             raw[u]);
    }
#pragma unroll
    for (int u = 0; u < kLoadsInFlight; ++u) {
      const int pos = base + u * kWarps * kRowsPerWarp + sub;
      if (pos >= end) break;
      float v8[8];
      raw[u].to_float(v8);
#pragma unroll
      for (int g = 0; g < G; ++g) {
        if (g >= heads) break;
        const float w = score_s[g][pos - begin];
#pragma unroll
        for (int e = 0; e < 8; ++e) acc[g][e] += w * v8[e];
      }
    }
  }
#pragma unroll
  for (int g = 0; g < G; ++g) {
#pragma unroll
    for (int e = 0; e < 8; ++e) {
#pragma unroll
      for (int o = kLanes; o < 32; o <<= 1) acc[g][e] += __shfl_xor_sync(0xffffffffu, acc[g][e], o);
    }
  }
  if (sub == 0) {
#pragma unroll
    for (int g = 0; g < G; ++g) {
      if (g >= heads) break;
#pragma unroll
      for (int e = 0; e < 8; ++e) red_s[warp][g][col + e] = acc[g][e];
    }
  }
  __syncthreads();

  for (int i = threadIdx.x; i < heads * D; i += kThreads) {
    const int g = i / D, d = i % D;
    float o = 0.0f;
#pragma unroll
    for (int w = 0; w < kWarps; ++w) o += red_s[w][g][d];
    const float2 ml = ml_s[g];
    const float inv_l = ml.y > 0.0f ? 1.0f / ml.y : 0.0f;
    const int head = head0 + g;
    if (num_splits == 1) {
      out[(int64_t{q_row} * p.q_heads + head) * D + d] = from_float<T>(o * inv_l);
    } else {
      const int64_t part = decode_partial_index(s, p.q_heads, head, num_splits, split);
      part_o[part * D + d] = o * inv_l;
      if (d == 0) part_ml[part] = n > 0 ? ml : make_float2(-INFINITY, 0.0f);
    }
  }
}

template <typename T, KvQuant Q, int D, int G>
void launch_decode(const T* q, const KvLayer<T, Q>& kv, const AttentionParams& p, int max_context_len, T* out,
                   cudaStream_t stream) {
  const int group = p.q_heads / p.kv_heads;
  const int group_slices = static_cast<int>(ceil_div(group, G));
  // Enough splits for about two blocks per multiprocessor, each a multiple of 64 tokens, at most kMaxSplit.
  const int64_t blocks_without_split = int64_t{p.num_seqs} * p.kv_heads * group_slices;
  const int64_t wanted = std::max<int64_t>(1, ceil_div(2 * multiprocessor_count(), blocks_without_split));
  const int split_len = static_cast<int>(std::clamp<int64_t>(
      ceil_div(ceil_div(max_context_len, wanted), kSplitQuantum) * kSplitQuantum, kSplitQuantum, kMaxSplit));
  const int num_splits = static_cast<int>(ceil_div(max_context_len, split_len));
  const DecodePartials partials(p, num_splits, D);
  const dim3 grid(p.num_seqs, p.kv_heads * group_slices, num_splits);
  launch_dependent(decode_kernel<T, Q, D, G>, grid, kThreads, 0, stream, q, kv, p, split_len, num_splits, group_slices,
                   out, partials.o(), partials.ml());
  if (num_splits > 1) launch_decode_combine<T, D>(partials, p, num_splits, out, stream);
}

}  // namespace

template <typename T, KvQuant Q, int D>
void launch_decode_attention(const T* q, const KvLayer<T, Q>& kv, const AttentionParams& p, int max_context_len, T* out,
                             cudaStream_t stream) {
  if (p.num_seqs == 0 || max_context_len == 0) return;
  if (p.q_heads / p.kv_heads <= 4) return launch_decode<T, Q, D, 4>(q, kv, p, max_context_len, out, stream);
  launch_decode<T, Q, D, 8>(q, kv, p, max_context_len, out, stream);
}

#define TLM_INSTANTIATE_DECODE(T, Q, D)                                                                           \
  template void launch_decode_attention<T, Q, D>(const T*, const KvLayer<T, Q>&, const AttentionParams&, int, T*, \
                                                 cudaStream_t);
TLM_FOR_EACH_PAGED_ATTENTION_INSTANCE(TLM_INSTANTIATE_DECODE)
#undef TLM_INSTANTIATE_DECODE

}  // namespace turbolm::cuda
