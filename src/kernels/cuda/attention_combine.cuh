// The merge step of split-K decode attention, shared by the decode kernels (attention_decode.cu,
// attention_decode_streamed.cu). Each split of a sequence's context writes, per query head, its output divided by
// its own softmax sum, and {max, sum} of its exp2 scores; the last split block of each (sequence, head group) to
// finish merges them, weighing split j by sum_j * exp2(max_j - max over the splits). Merging in the kernel instead
// of a second one saves a launch and its dependency wait per layer (a few microseconds of a decode step).
#pragma once

#include <memory>

#include "kernels/cuda/attention.cuh"

namespace turbolm::cuda {

// Row of (sequence s, query head, split) in the partial arrays [S, q_heads, num_splits] (split fastest).
__device__ __forceinline__ int64_t decode_partial_index(int s, int q_heads, int head, int num_splits, int split) {
  return (int64_t{s} * q_heads + head) * num_splits + split;
}

// Arrival counters of the current device for split launches: `count` ints, zero between launches (the block that
// merges resets its own). Grown on demand (zeroed on `stream`; graphs captured with the old array are stale).
int* split_arrival_counters(int64_t count, cudaStream_t stream);

// Device scratch for one split launch, none when num_splits == 1 (the kernel then writes `out` itself):
//   o  [S, q_heads, num_splits, head_dim] f32: a split's output / its sum
//   ml [S, q_heads, num_splits] {max, sum}: (-inf, 0) for a split without tokens (its o is ignored)
//   counters [S, groups]: one per (sequence, blockIdx.y) of the launch, groups = the grid's y extent
class DecodePartials {
 public:
  DecodePartials(const AttentionParams& p, int num_splits, int head_dim, int groups, cudaStream_t stream) {
    if (num_splits == 1) return;
    const size_t parts = size_t(p.num_seqs) * p.q_heads * num_splits;
    o_ = std::make_unique<DeviceScratch>(parts * head_dim * sizeof(float));
    ml_ = std::make_unique<DeviceScratch>(parts * sizeof(float2));
    counters_ = split_arrival_counters(int64_t{p.num_seqs} * groups, stream);
  }
  float* o() const { return o_ ? o_->as<float>() : nullptr; }
  float2* ml() const { return ml_ ? ml_->as<float2>() : nullptr; }
  int* counters() const { return counters_; }

 private:
  std::unique_ptr<DeviceScratch> o_, ml_;
  int* counters_ = nullptr;
};

// Called by every thread of every block of a split launch (empty splits too) once the block's partials are
// written: the last block of (s, blockIdx.y) to arrive merges heads [head0, head0 + heads) of sequence s (query
// row q_row) into out[T, q_heads, D], out = sum_j w_j o_j / sum_j w_j with w_j = l_j * exp2(m_j - max m).
template <typename T, int D>
__device__ void merge_splits_if_last(const float* part_o, const float2* part_ml, int* counters, int s, int q_row,
                                     int q_heads, int head0, int heads, int num_splits, T* out) {
  __shared__ int is_last;
  __threadfence();  // this block's partials are visible device-wide before its arrival is counted
  __syncthreads();
  if (threadIdx.x == 0) {
    int* counter = counters + int64_t{s} * gridDim.y + blockIdx.y;
    is_last = atomicAdd(counter, 1) == num_splits - 1;
    if (is_last) atomicExch(counter, 0);  // every split has arrived: ready for the next launch
  }
  __syncthreads();
  if (!is_last) return;
  __threadfence();
  for (int i = threadIdx.x; i < heads * D; i += blockDim.x) {
    const int head = head0 + i / D, d = i % D;
    const int64_t base = decode_partial_index(s, q_heads, head, num_splits, 0);
    float m = -INFINITY;
    for (int j = 0; j < num_splits; ++j) m = fmaxf(m, __ldcg(part_ml + base + j).x);
    float num = 0.0f, den = 0.0f;
    for (int j = 0; j < num_splits; ++j) {
      const float2 ml = __ldcg(part_ml + base + j);  // L2: other blocks wrote these
      if (ml.y == 0.0f) continue;
      const float w = ml.y * exp2f(ml.x - m);
      num += w * __ldcg(part_o + (base + j) * D + d);
      den += w;
    }
    out[(int64_t{q_row} * q_heads + head) * D + d] = from_float<T>(den > 0.0f ? num / den : 0.0f);
  }
}

}  // namespace turbolm::cuda
