// The merge step of split-K decode attention, shared by the decode kernels (attention_decode.cu,
// attention_decode_streamed.cu). Each split of a sequence's context writes, per query head, its output divided by
// its own softmax sum, and {max, sum} of its exp2 scores; combine_kernel weighs split j by
// sum_j * exp2(max_j - max over the splits).
#pragma once

#include <memory>

#include "kernels/cuda/attention.cuh"

namespace turbolm::cuda {

// Row of (sequence s, query head, split) in the partial arrays [S, q_heads, num_splits] (split fastest).
__device__ __forceinline__ int64_t decode_partial_index(int s, int q_heads, int head, int num_splits, int split) {
  return (int64_t{s} * q_heads + head) * num_splits + split;
}

// Device scratch for one split launch, none when num_splits == 1 (the kernel then writes `out` itself):
//   o  [S, q_heads, num_splits, head_dim] f32: a split's output / its sum
//   ml [S, q_heads, num_splits] {max, sum}: (-inf, 0) for a split without tokens (its o is ignored)
class DecodePartials {
 public:
  DecodePartials(const AttentionParams& p, int num_splits, int head_dim) {
    if (num_splits == 1) return;
    const size_t parts = size_t(p.num_seqs) * p.q_heads * num_splits;
    o_ = std::make_unique<DeviceScratch>(parts * head_dim * sizeof(float));
    ml_ = std::make_unique<DeviceScratch>(parts * sizeof(float2));
  }
  float* o() const { return o_ ? o_->as<float>() : nullptr; }
  float2* ml() const { return ml_ ? ml_->as<float2>() : nullptr; }

 private:
  std::unique_ptr<DeviceScratch> o_, ml_;
};

// out[row of s, head] = sum_j w_j o_j / sum_j w_j with w_j = l_j * exp2(m_j - max m). Block = (s, head), D threads.
template <typename T, int D>
__global__ void combine_kernel(const float* __restrict__ part_o, const float2* __restrict__ part_ml,
                               const int32_t* __restrict__ query_start, int q_heads, int num_splits,
                               T* __restrict__ out) {
  begin_dependent_kernel();
  const int s = blockIdx.x, head = blockIdx.y, d = threadIdx.x;
  const int64_t base = decode_partial_index(s, q_heads, head, num_splits, 0);
  float m = -INFINITY;
  for (int j = 0; j < num_splits; ++j) m = fmaxf(m, part_ml[base + j].x);
  float num = 0.0f, den = 0.0f;
  for (int j = 0; j < num_splits; ++j) {
    const float2 ml = part_ml[base + j];
    if (ml.y == 0.0f) continue;
    const float w = ml.y * exp2f(ml.x - m);
    num += w * part_o[(base + j) * D + d];
    den += w;
  }
  out[(int64_t{query_start[s]} * q_heads + head) * D + d] = from_float<T>(den > 0.0f ? num / den : 0.0f);
}

// Merges the splits of a launch that used `partials` into out [T, q_heads, D] (queued after it on `stream`).
template <typename T, int D>
void launch_decode_combine(const DecodePartials& partials, const AttentionParams& p, int num_splits, T* out,
                           cudaStream_t stream) {
  launch_dependent(combine_kernel<T, D>, dim3(p.num_seqs, p.q_heads), D, 0, stream, partials.o(), partials.ml(),
                   p.query_start, p.q_heads, num_splits, out);
}

}  // namespace turbolm::cuda
