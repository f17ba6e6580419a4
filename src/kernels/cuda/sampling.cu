// sample: logits -> tokens on the device; only the per-row results cross to the host (one copy, waited for by
// the future), and the ids stay on the device for the next step's inputs.
// Reproduces the CPU backend's procedure (kernels/cpu/sampling.cc) step for step:
//   chunk_kernel (grid rows x chunks, one block per contiguous chunk of a row, enough chunks to fill the GPU):
//     one pass over the chunk (16-byte loads) gives its raw max, the max's lowest id and the sum of
//     exp(x - chunk max) (online: a new max rescales the sum; f32 within a batch of loads, f64 across); the block's
//     threads merge by max first, then by one rescaled sum each; a row asking for N logprobs also gets the chunk's
//     top-N raw candidates (N rounds of "the best element after the previous pick" over the cached chunk);
//   prepare_kernel (one block per row): combines the chunks, lse = M + log(sum_c s_c exp(m_c - M)) (f64) and the
//     top-N raw logprobs as a merge of the chunks' sorted candidates, applies the repetition penalty over the
//     unique penalty ids, then greedy: the chunks' argmax (lowest id on ties) when nothing was penalized, else a
//     pass over the penalized row; non-greedy: writes z = l / temperature for the sort;
//   non-greedy rows: a segmented radix sort orders z descending (stable, so ties keep ids ascending);
//   walk_kernel: top-k prefix, W, min-p, the top-p cut and the inverse-CDF draw with u = random_uniform(seed,
//     step), as block-wide f64 prefix sums over the sorted order.
#include <algorithm>
#include <cstring>
#include <cub/block/block_scan.cuh>
#include <cub/device/device_segmented_radix_sort.cuh>
#include <memory>
#include <mutex>
#include <vector>

#include "kernels/cuda/common.cuh"
#include "kernels/cuda/cuda_ops.h"
#include "kernels/cuda/cuda_runtime.h"
#include "ops/random.h"

namespace turbolm::cuda {
namespace {

constexpr int kThreads = 512;       // prepare_kernel and walk_kernel: one block per row
constexpr int kChunkThreads = 256;  // chunk_kernel: one block per chunk of a row
constexpr int kMaxLogprobs = 64;
constexpr int kMaxChunks = 64;   // per row: prepare_kernel merges the chunks in one warp, two per lane
constexpr int kMinChunk = 2048;  // elements: smaller chunks cost more in blocks and merging than they save
constexpr int kLoadBatch = 4;    // 16-byte loads in flight per chunk_kernel thread
// chunk_kernel blocks wanted per SM (each thread waits for one batch of loads at a time). H100, 64 rows in the
// model's decode step: 22.4 us at 8 against 22.8 at 2; whole sample() calls 43.8-47.3 us at 2-8, 50.8 at 16.
constexpr int kChunkBlocksPerSm = 8;

struct RowParams {
  int greedy;
  float temperature;
  int top_k;
  float top_p;
  float min_p;
  float repetition_penalty;
  unsigned long long seed;
  unsigned long long step;
  int num_logprobs;    // already clamped to [0, min(kMaxLogprobs, vocab)]
  int penalty_offset;  // into the concatenated penalty ids
  int penalty_count;
  int sort_row;  // row of the sort buffers (non-greedy rows), -1 for greedy
};

struct RowResult {
  int token;
  float logprob;
  double lse;
  int num_top;
  int top_ids[kMaxLogprobs];
  float top_logprobs[kMaxLogprobs];
};

struct ArgMax {
  float value;
  int id;
};

// Raw log-softmax statistics of a run of elements: the max, its lowest id, and sum exp(x - max) in f64. A run
// of only -inf has max -inf and sum 0; an empty run is {-inf, INT_MAX, 0}.
struct Stats {
  float max;
  int id;
  double sum;
};

// Larger value first, lower id on ties.
__device__ __forceinline__ bool before(float v, int id, float w, int wid) { return v > w || (v == w && id < wid); }

__device__ __forceinline__ ArgMax warp_argmax(ArgMax a) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) {
    const float v = __shfl_xor_sync(0xffffffffu, a.value, o);
    const int id = __shfl_xor_sync(0xffffffffu, a.id, o);
    if (before(v, id, a.value, a.id)) a = {v, id};
  }
  return a;
}

// Block-wide first element in before() order; every thread gets it. `scratch` holds 32 ArgMax.
__device__ ArgMax block_argmax(ArgMax a, ArgMax* scratch) {
  return block_reduce(a, scratch, ArgMax{-INFINITY, INT_MAX}, [](ArgMax x) { return warp_argmax(x); });
}

constexpr float kLog2e = 1.4426950408889634f;

// sum * exp(from - to), for to >= from, the factor an f32 exp2 (relative error ~1e-7; an f64 exp here, at every
// raised max and merge step, was much of chunk_kernel's time). Equal maxima keep the sum as is: for -inf == -inf,
// exp would give NaN.
__device__ __forceinline__ double rescale(double sum, float from, float to) {
  return from == to ? sum : sum * static_cast<double>(exp2f((from - to) * kLog2e));
}

// The statistics of two runs together: the first max in before() order, both sums rescaled to it.
__device__ __forceinline__ Stats merge(Stats a, Stats b) {
  const bool b_first = before(b.max, b.id, a.max, a.id);
  const float max = b_first ? b.max : a.max;
  return {max, b_first ? b.id : a.id, rescale(a.sum, a.max, max) + rescale(b.sum, b.max, max)};
}

// 2^x by the special-function unit alone (ex2.approx: relative error ~2^-22; -inf gives +0).
__device__ __forceinline__ float fast_exp2(float x) {
  float y;
  asm("ex2.approx.ftz.f32 %0, %1;" : "=f"(y) : "f"(x));
  return y;
}

// Adds element i (value x) to a thread's running statistics; for the few scalars outside a chunk's 16-byte
// vectors. -inf adds nothing (and must not try: while the max is -inf too, exp(x - max) is NaN).
__device__ __forceinline__ void add(Stats& st, float x, int i) {
  if (x > st.max) {
    st.sum = rescale(st.sum, st.max, x) + 1.0;
    st.max = x;
    st.id = i;
  } else {
    if (x == st.max && i < st.id) st.id = i;
    if (x > -INFINITY) st.sum += exp2f((x - st.max) * kLog2e);
  }
}

// Adds a batch of a thread's vectors to its running statistics; element k of vector b has index base + b * stride
// + k (a thread walks its elements in increasing index order, after its leading scalars). The max rises to the
// batch's once (rescaling the sum), and its id is then the batch's first occurrence of it: a later tie never wins.
// The terms exp(x - max) cost an FMA and an ex2 each and are summed in f32 (at most 16, each at most 1) before
// the f64 sum takes them. Per element, the rescaling branch and f64 arithmetic made this pass over 64 rows of
// 151,936 logits issue-bound (29.6 us on an H100 for 39 MB; f64 exp per element: 71 us).
__device__ __forceinline__ void add_batch(Stats& st, const Vec<float>* q, int count, int base, int stride) {
  float m = -INFINITY;
#pragma unroll
  for (int b = 0; b < kLoadBatch; ++b)  // unrolled with a guard: q stays in registers
    if (b < count) {
#pragma unroll
      for (int k = 0; k < 4; ++k) m = fmaxf(m, q[b].v[k]);
    }
  if (m > st.max || st.id == INT_MAX) {  // a new max, or the first elements of an all -inf run so far
    if (m > st.max) {
      st.sum = rescale(st.sum, st.max, m);
      st.max = m;
    }
    int id = INT_MAX;
#pragma unroll
    for (int b = kLoadBatch - 1; b >= 0; --b)  // backwards: the first occurrence is written last
      if (b < count) {
#pragma unroll
        for (int k = 3; k >= 0; --k)
          if (q[b].v[k] == m) id = base + b * stride + k;
      }
    st.id = id;
  }
  if (st.max == -INFINITY) return;  // only -inf so far: nothing to add
  const float offset = st.max * kLog2e;
  float sum = 0.0f;
#pragma unroll
  for (int b = 0; b < kLoadBatch; ++b)
    if (b < count) {
#pragma unroll
      for (int k = 0; k < 4; ++k) sum += fast_exp2(fmaf(q[b].v[k], kLog2e, -offset));
    }
  st.sum += sum;
}

__device__ __forceinline__ Stats warp_merge(Stats a) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1)
    a = merge(a, Stats{__shfl_xor_sync(0xffffffffu, a.max, o), __shfl_xor_sync(0xffffffffu, a.id, o),
                       __shfl_xor_sync(0xffffffffu, a.sum, o)});
  return a;
}

// Block-wide merge; every thread gets the result. `scratch` holds 32 ArgMax and 32 doubles. The max and its id
// first, then each thread's sum rescaled to it once and summed: a tree of merge() steps rescales at every level.
__device__ Stats block_merge(Stats a, ArgMax* scratch_a, double* scratch_d) {
  const ArgMax best = block_argmax(ArgMax{a.max, a.id}, scratch_a);
  const double sum = block_reduce(rescale(a.sum, a.max, best.value), scratch_d, 0.0, [](double x) {
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) x += __shfl_xor_sync(0xffffffffu, x, o);
    return x;
  });
  return {best.value, best.id, sum};
}

// How chunk_kernel deals row[begin, end) to its threads: 16-byte vectors over the aligned middle, vector v to
// thread v % blockDim.x, and scalars to threads 0..2 for up to 3 elements before it (rows start unaligned when
// vocab % 4 != 0) and up to 3 after it.
struct ChunkLayout {
  int begin;       // [begin, vec_begin): element begin + t to thread t
  int vec_begin;   // [vec_begin, tail_begin): the vectors
  int tail_begin;  // [tail_begin, end): element tail_begin + t to thread t
  int end;
};

__device__ __forceinline__ ChunkLayout chunk_layout(const float* row, int begin, int end) {
  const int misaligned = static_cast<int>((reinterpret_cast<uintptr_t>(row + begin) >> 2) & 3);
  const int vec_begin = begin + min((4 - misaligned) & 3, end - begin);
  return {begin, vec_begin, vec_begin + ((end - vec_begin) & ~3), end};
}

// The thread that gets element i.
__device__ __forceinline__ int owner_of(const ChunkLayout& l, int i) {
  if (i < l.vec_begin) return i - l.begin;
  if (i >= l.tail_begin) return i - l.tail_begin;
  return ((i - l.vec_begin) >> 2) % blockDim.x;
}

// Visits the elements of thread `owner`, or with parts > 1 share `part` of them (its vectors dealt round-robin, its
// scalars to part 0), in increasing index order: f(x, i) for each scalar, on_batch(q, count, base, stride) for each
// batch of `count` loaded vectors (element k of q[b] has index base + b * stride + k). kLoadBatch loads in flight
// per caller: one at a time leaves a grid of a few blocks per SM latency-bound.
template <typename F, typename OnBatch>
__device__ __forceinline__ void for_each_of(const float* row, const ChunkLayout& l, int owner, int part, int parts,
                                            F&& f, OnBatch&& on_batch) {
  if (part == 0 && l.begin + owner < l.vec_begin) f(row[l.begin + owner], l.begin + owner);
  const int vecs = (l.tail_begin - l.vec_begin) >> 2, step = parts * blockDim.x;
  for (int first = owner + part * blockDim.x; first < vecs; first += kLoadBatch * step) {
    Vec<float> q[kLoadBatch];
#pragma unroll
    for (int b = 0; b < kLoadBatch; ++b)
      if (first + b * step < vecs) q[b].load_global(row + l.vec_begin + 4 * (first + b * step));
    on_batch(q, min(kLoadBatch, (vecs - first + step - 1) / step), l.vec_begin + 4 * first, 4 * step);
  }
  if (part == 0 && l.tail_begin + owner < l.end) f(row[l.tail_begin + owner], l.tail_begin + owner);
}

// for_each_of's batch handler that calls f(x, i) for every element.
template <typename F>
__device__ __forceinline__ auto each_element(F& f) {
  return [&f](const Vec<float>* q, int count, int base, int stride) {
#pragma unroll
    for (int b = 0; b < kLoadBatch; ++b) {
      if (b >= count) break;
#pragma unroll
      for (int k = 0; k < 4; ++k) f(q[b].v[k], base + b * stride + k);
    }
  };
}

// Grid (rows, chunks): block (s, c) reads chunk c = [c * chunk_len, min((c + 1) * chunk_len, vocab)) of row s
// once and writes its Stats to stats[s * chunks + c]; a row asking for N logprobs also gets the chunk's first
// min(N, chunk size) elements in before() order at top[(s * chunks + c) * top_stride ...].
__global__ void __launch_bounds__(kChunkThreads)
    chunk_kernel(const float* __restrict__ logits, int vocab, int chunk_len, const RowParams* __restrict__ params,
                 Stats* __restrict__ stats, ArgMax* __restrict__ top, int top_stride) {
  __shared__ ArgMax scratch_a[32];
  __shared__ double scratch_d[32];
  const int s = blockIdx.x, c = blockIdx.y, lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  const float* row = logits + int64_t{s} * vocab;
  const ChunkLayout layout = chunk_layout(row, c * chunk_len, min((c + 1) * chunk_len, vocab));
  const int64_t slot = int64_t{s} * gridDim.y + c;

  Stats st{-INFINITY, INT_MAX, 0.0};
  for_each_of(
      row, layout, threadIdx.x, 0, 1, [&](float x, int i) { add(st, x, i); },
      [&](const Vec<float>* q, int count, int base, int stride) { add_batch(st, q, count, base, stride); });
  const Stats chunk = block_merge(st, scratch_a, scratch_d);
  if (threadIdx.x == 0) stats[slot] = chunk;

  // Top-N: N rounds of "the best element ordered after the previous pick". Every thread holds the best of its
  // own elements after the previous pick (at first its argmax from above), so only the picked element's thread
  // needs a new one: its warp looks over that thread's elements (cached by now), a share per lane.
  const int num_top = min(params[s].num_logprobs, layout.end - layout.begin);  // so every pick is an element
  ArgMax mine{st.max, st.id};
  for (int n = 0; n < num_top; ++n) {
    const ArgMax pick = block_argmax(mine, scratch_a);
    if (threadIdx.x == 0) top[slot * top_stride + n] = pick;
    const int owner = owner_of(layout, pick.id);
    if (warp == owner >> 5) {
      ArgMax next{-INFINITY, INT_MAX};
      auto consider = [&](float x, int i) {
        if (before(pick.value, pick.id, x, i) && before(x, i, next.value, next.id)) next = {x, i};
      };
      for_each_of(row, layout, owner, lane, 32, consider, each_element(consider));
      next = warp_argmax(next);
      if (threadIdx.x == owner) mine = next;
    }
  }
}

// The raw logit of `token`: the value the penalty saved if it overwrote that token, else the row's value.
__device__ float raw_logit(const float* row, const int32_t* pen_ids, const float* pen_saved, int count, int token,
                           int* found_index) {
  if (threadIdx.x == 0) *found_index = -1;
  __syncthreads();
  for (int i = threadIdx.x; i < count; i += kThreads)
    if (pen_ids[i] == token) *found_index = i;  // every match saved the same value
  __syncthreads();
  return *found_index >= 0 ? pen_saved[*found_index] : row[token];
}

// One block per row, after chunk_kernel (`chunks`, `chunk_len`, `top_stride` as there). Dynamic shared memory:
// chunks * top_stride ArgMax.
__global__ void __launch_bounds__(kThreads)
    prepare_kernel(float* __restrict__ logits, int vocab, int chunks, int chunk_len,
                   const RowParams* __restrict__ params, const Stats* __restrict__ chunk_stats,
                   const ArgMax* __restrict__ chunk_top, int top_stride, const int32_t* __restrict__ pen_ids,
                   float* __restrict__ pen_saved, float* __restrict__ sort_keys, int32_t* __restrict__ sort_ids,
                   RowResult* __restrict__ results, int32_t* __restrict__ sampled_ids) {
  extern __shared__ ArgMax candidates[];  // [chunks][top_stride]: the chunks' top-N lists, in before() order
  __shared__ ArgMax scratch_a[32];
  __shared__ Stats row_stats;
  __shared__ int found_index;
  const int s = blockIdx.x;
  const RowParams p = params[s];
  float* row = logits + int64_t{s} * vocab;
  RowResult& res = results[s];
  const int64_t first_slot = int64_t{s} * chunks;
  const int num_top = p.num_logprobs;
  const auto listed = [&](int c) { return min(num_top, min(chunk_len, vocab - c * chunk_len)); };

  if (threadIdx.x < 32) {
    Stats st{-INFINITY, INT_MAX, 0.0};
    for (int c = threadIdx.x; c < chunks; c += 32) st = merge(st, chunk_stats[first_slot + c]);
    st = warp_merge(st);
    if (threadIdx.x == 0) row_stats = st;
  }
  for (int i = threadIdx.x; i < chunks * num_top; i += kThreads) {
    const int c = i / num_top, n = i % num_top;
    if (n < listed(c)) candidates[c * top_stride + n] = chunk_top[(first_slot + c) * top_stride + n];
  }
  __syncthreads();
  const Stats raw = row_stats;
  const double lse = raw.max + log(raw.sum);

  // Top-N raw logprobs: every element of the row's top N is in its chunk's top N, so merge the chunks' lists in
  // one warp, lane l holding the heads of lists l and l + 32.
  if (threadIdx.x < 32) {
    const int lane = threadIdx.x, other = lane + 32;
    int head = 0, other_head = 0;  // next candidate of list `lane` and of list `other`
    for (int n = 0; n < num_top; ++n) {
      ArgMax mine{-INFINITY, INT_MAX};
      bool from_other = false;
      if (lane < chunks && head < listed(lane)) mine = candidates[lane * top_stride + head];
      if (other < chunks && other_head < listed(other)) {
        const ArgMax a = candidates[other * top_stride + other_head];
        if (before(a.value, a.id, mine.value, mine.id)) {
          mine = a;
          from_other = true;
        }
      }
      const ArgMax pick = warp_argmax(mine);
      if (mine.id == pick.id) {  // this lane's list gave the pick
        if (from_other)
          ++other_head;
        else
          ++head;
      }
      if (lane == 0) {
        res.top_ids[n] = pick.id;
        res.top_logprobs[n] = static_cast<float>(pick.value - lse);
      }
    }
  }

  // Repetition penalty: read every original first, then write (duplicates write the same value).
  const int32_t* ids = pen_ids + p.penalty_offset;
  float* saved = pen_saved + p.penalty_offset;
  const bool penalize = p.repetition_penalty != 1.0f;
  if (penalize) {
    for (int i = threadIdx.x; i < p.penalty_count; i += kThreads)
      saved[i] = ids[i] >= 0 && ids[i] < vocab ? row[ids[i]] : 0.0f;
    __syncthreads();
    for (int i = threadIdx.x; i < p.penalty_count; i += kThreads) {
      if (ids[i] < 0 || ids[i] >= vocab) continue;
      const float l = saved[i];
      row[ids[i]] = l > 0.0f ? l / p.repetition_penalty : l * p.repetition_penalty;
    }
    __syncthreads();
  }
  const int pen_count = penalize ? p.penalty_count : 0;

  if (p.greedy) {
    // Nothing penalized: the chunks' argmax, a raw logit. Else a pass over the penalized row.
    ArgMax best{raw.max, raw.id};
    float best_raw = raw.max;
    if (pen_count > 0) {
      best = {-INFINITY, INT_MAX};
      for (int i = threadIdx.x; i < vocab; i += kThreads)
        if (before(row[i], i, best.value, best.id)) best = {row[i], i};
      best = block_argmax(best, scratch_a);
      best_raw = raw_logit(row, ids, saved, pen_count, best.id, &found_index);
    }
    if (threadIdx.x == 0) {
      res.token = best.id;
      res.logprob = static_cast<float>(best_raw - lse);
      sampled_ids[s] = best.id;
    }
  } else {
    float* keys = sort_keys + int64_t{p.sort_row} * vocab;
    int32_t* key_ids = sort_ids + int64_t{p.sort_row} * vocab;
    for (int i = threadIdx.x; i < vocab; i += kThreads) {
      keys[i] = __fdiv_rn(row[i], p.temperature);
      key_ids[i] = i;
    }
  }
  if (threadIdx.x == 0) {
    res.lse = lse;
    res.num_top = num_top;
  }
}

// Index of the first i in [begin, end) with pred(i, inclusive prefix of val) true, scanning in block-sized
// chunks; -1 when none. `carry` returns the prefix sum over [begin, end) (or up to and including the hit).
template <typename Val, typename Pred>
__device__ int block_find_prefix(int begin, int end, Val val, Pred pred, double* carry_out) {
  using Scan = cub::BlockScan<double, kThreads>;
  __shared__ typename Scan::TempStorage temp;
  __shared__ int hit;
  __shared__ double hit_prefix, chunk_total;
  double carry = 0.0;
  for (int base = begin; base < end; base += kThreads) {
    const int i = base + threadIdx.x;
    const double v = i < end ? val(i) : 0.0;
    double prefix, total;
    Scan(temp).InclusiveSum(v, prefix, total);
    prefix += carry;
    if (threadIdx.x == 0) hit = INT_MAX;
    __syncthreads();
    if (i < end && pred(i, v, prefix)) atomicMin(&hit, i);
    __syncthreads();
    if (i == hit) hit_prefix = prefix;
    if (threadIdx.x == 0) chunk_total = total;
    __syncthreads();
    if (hit != INT_MAX) {
      *carry_out = hit_prefix;
      return hit;
    }
    carry += chunk_total;
    __syncthreads();
  }
  *carry_out = carry;
  return -1;
}

__global__ void __launch_bounds__(kThreads)
    walk_kernel(const float* __restrict__ logits, int vocab, const RowParams* __restrict__ params,
                const int* __restrict__ rows, const int32_t* __restrict__ pen_ids, const float* __restrict__ pen_saved,
                const float* __restrict__ sort_keys, const int32_t* __restrict__ sort_ids,
                RowResult* __restrict__ results, int32_t* __restrict__ sampled_ids) {
  __shared__ double scratch_d[32];
  __shared__ int found_index, last_kept;
  const int r = blockIdx.x, s = rows[r];
  const RowParams p = params[s];
  const float* keys = sort_keys + int64_t{r} * vocab;
  const int32_t* ids = sort_ids + int64_t{r} * vocab;
  const float zmax = keys[0];
  const int n = p.top_k > 0 && p.top_k < vocab ? p.top_k : vocab;
  auto weight = [&](int i) { return expf(keys[i] - zmax); };

  double w_sum = 0.0;
  for (int i = threadIdx.x; i < n; i += kThreads) w_sum += weight(i);
  const double total = block_reduce(w_sum, scratch_d, 0.0, [](double x) { return warp_sum(x); });  // W, before min-p
  const float min_p = p.min_p;
  auto kept_weight = [&](int i) -> double {
    const float w = weight(i);
    return min_p > 0.0f && w < min_p ? 0.0 : static_cast<double>(w);
  };

  int kept_end = n;
  double kept_mass = 0.0;
  if (p.top_p < 1.0f) {
    const double mass = static_cast<double>(p.top_p) * total;
    const int cut = block_find_prefix(
        0, n, kept_weight, [&](int, double v, double prefix) { return v > 0.0 && prefix >= mass; }, &kept_mass);
    if (cut >= 0) kept_end = cut + 1;
  } else {
    block_find_prefix(
        0, n, kept_weight, [](int, double, double) { return false; }, &kept_mass);
  }
  const double target = static_cast<double>(random_uniform(p.seed, p.step)) * kept_mass;
  double unused = 0.0;
  int pick = block_find_prefix(
      0, kept_end, kept_weight, [&](int, double v, double prefix) { return v > 0.0 && prefix > target; }, &unused);
  if (pick < 0) {  // rounding at the very top: the last kept token
    if (threadIdx.x == 0) last_kept = -1;
    __syncthreads();
    for (int i = threadIdx.x; i < kept_end; i += kThreads)
      if (kept_weight(i) > 0.0) atomicMax(&last_kept, i);
    __syncthreads();
    pick = last_kept;
  }
  const int token = ids[pick];
  const int pen_count = p.repetition_penalty != 1.0f ? p.penalty_count : 0;
  const float raw = raw_logit(logits + int64_t{s} * vocab, pen_ids + p.penalty_offset, pen_saved + p.penalty_offset,
                              pen_count, token, &found_index);
  if (threadIdx.x == 0) {
    results[s].token = token;
    results[s].logprob = static_cast<float>(raw - results[s].lse);
    sampled_ids[s] = token;
  }
}

// ids[i] = sampled[-ids[i] - 1] for the placeholders (ids[i] < 0) that name a row of `sampled`.
__global__ void resolve_feedback_kernel(const int32_t* __restrict__ sampled, int rows, int32_t* __restrict__ ids,
                                        int n) {
  begin_dependent_kernel();
  for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += gridDim.x * blockDim.x) {
    const int32_t id = ids[i];
    if (id < 0 && -(id + 1) < rows) ids[i] = sampled[-(id + 1)];
  }
}

size_t align_up(size_t n) { return (n + 255) / 256 * 256; }

// Pinned staging of one sample_async call: its upload (parameters, penalty ids) and its download (results).
// A future holds its slot until it is waited for or destroyed, so two steps can be in flight; a slot is
// rewritten only after the copies that last used it finished (`done`, recorded after the download).
struct StagingSlot {
  PinnedBuffer upload, download;
  cudaEvent_t done = nullptr;
  bool busy = false;
};

class StagingPool {
 public:
  StagingSlot* acquire() {
    std::lock_guard<std::mutex> lock(mutex_);
    StagingSlot* slot = nullptr;
    for (auto& s : slots_)
      if (!s->busy) slot = s.get();
    if (slot == nullptr) {
      slot = slots_.emplace_back(std::make_unique<StagingSlot>()).get();
      CUDA_CHECK(cudaEventCreateWithFlags(&slot->done, cudaEventDisableTiming));
    }
    slot->busy = true;
    CUDA_CHECK(cudaEventSynchronize(slot->done));
    return slot;
  }
  void release(StagingSlot* slot) {
    std::lock_guard<std::mutex> lock(mutex_);
    slot->busy = false;
  }

 private:
  std::mutex mutex_;
  std::vector<std::unique_ptr<StagingSlot>> slots_;  // never shrinks: slots are handed out by address
};

StagingPool& staging_pool() {
  static StagingPool* pool = new StagingPool;  // never destroyed: futures may outlive static destruction order
  return *pool;
}

}  // namespace

SampleFuture sample_async(const ExecContext& ctx, Tensor& logits, std::span<const SamplingParams> params,
                          std::span<const std::span<const int32_t>> penalty_tokens) {
  check_on_device(logits, "sample", "logits");
  TLM_CHECK(logits.dtype() == DType::kF32) << "sample: logits must be f32, got " << logits.to_string();
  const int rows = static_cast<int>(logits.dim(0)), vocab = static_cast<int>(logits.dim(1));
  TLM_CHECK_EQ(static_cast<int>(params.size()), rows) << "sample: one SamplingParams per row";
  Tensor sampled_ids = Tensor::empty({rows}, DType::kI32, logits.device());
  if (rows == 0) return SampleFuture(sampled_ids, [] { return std::vector<SampleResult>{}; });
  TLM_CHECK_GT(vocab, 0) << "sample: empty vocabulary";
  const cudaStream_t stream = stream_of(ctx);
  // Released when the future is done with it (waited for, or destroyed unwaited).
  std::shared_ptr<StagingSlot> slot(staging_pool().acquire(), [](StagingSlot* s) { staging_pool().release(s); });

  // Upload layout: RowParams[rows] | penalty ids | sort-row list | sort segment offsets.
  std::vector<RowParams> row_params(rows);
  std::vector<int> sort_rows;
  size_t total_penalty = 0;
  int top_stride = 0;  // the most logprobs a row asks for
  for (int s = 0; s < rows; ++s) {
    const SamplingParams& sp = params[s];
    TLM_CHECK(sp.num_logprobs <= kMaxLogprobs) << "sample: CUDA returns at most " << kMaxLogprobs << " logprobs";
    // Penalty ids only cross to the device when they change something (the engine passes every row's whole
    // history: at 1,000 rows that is ~1 MB a step for nothing when repetition_penalty is 1).
    const size_t count =
        s < static_cast<int>(penalty_tokens.size()) && sp.repetition_penalty != 1.0f ? penalty_tokens[s].size() : 0;
    row_params[s] = RowParams{sp.greedy ? 1 : 0,
                              sp.temperature,
                              sp.top_k,
                              sp.top_p,
                              sp.min_p,
                              sp.repetition_penalty,
                              sp.seed,
                              sp.step,
                              std::clamp(sp.num_logprobs, 0, std::min(kMaxLogprobs, vocab)),
                              static_cast<int>(total_penalty),
                              static_cast<int>(count),
                              sp.greedy ? -1 : static_cast<int>(sort_rows.size())};
    if (!sp.greedy) sort_rows.push_back(s);
    total_penalty += count;
    top_stride = std::max(top_stride, row_params[s].num_logprobs);
  }
  const int sorted = static_cast<int>(sort_rows.size());
  const size_t params_bytes = align_up(rows * sizeof(RowParams));
  const size_t pen_bytes = align_up(std::max<size_t>(total_penalty, 1) * sizeof(int32_t));
  const size_t rows_bytes = align_up(std::max(sorted, 1) * sizeof(int));
  const size_t offsets_bytes = align_up((sorted + 1) * sizeof(int));
  const size_t upload_bytes = params_bytes + pen_bytes + rows_bytes + offsets_bytes;
  char* host = static_cast<char*>(slot->upload.reserve(upload_bytes));
  std::memcpy(host, row_params.data(), rows * sizeof(RowParams));
  int32_t* host_pen = reinterpret_cast<int32_t*>(host + params_bytes);
  for (int s = 0; s < static_cast<int>(penalty_tokens.size()) && s < rows; ++s)
    std::copy_n(penalty_tokens[s].begin(), row_params[s].penalty_count, host_pen + row_params[s].penalty_offset);
  int* host_rows = reinterpret_cast<int*>(host + params_bytes + pen_bytes);
  std::copy(sort_rows.begin(), sort_rows.end(), host_rows);
  int* host_offsets = reinterpret_cast<int*>(host + params_bytes + pen_bytes + rows_bytes);
  for (int r = 0; r <= sorted; ++r) host_offsets[r] = r * vocab;

  DeviceScratch device_upload(upload_bytes);
  CUDA_CHECK(cudaMemcpyAsync(device_upload.as<char>(), host, upload_bytes, cudaMemcpyHostToDevice, stream));
  const RowParams* d_params = device_upload.as<RowParams>();
  const int32_t* d_pen = reinterpret_cast<const int32_t*>(device_upload.as<char>() + params_bytes);
  const int* d_rows = reinterpret_cast<const int*>(device_upload.as<char>() + params_bytes + pen_bytes);
  const int* d_offsets = reinterpret_cast<const int*>(device_upload.as<char>() + params_bytes + pen_bytes + rows_bytes);

  DeviceScratch pen_saved(std::max<size_t>(total_penalty, 1) * sizeof(float));
  DeviceScratch results(rows * sizeof(RowResult));
  const size_t sort_elems = size_t(std::max(sorted, 1)) * vocab;
  DeviceScratch keys_in(sorted > 0 ? sort_elems * sizeof(float) : 0), ids_in(sorted > 0 ? sort_elems * 4 : 0);

  // Chunks per row: about kChunkBlocksPerSm chunk_kernel blocks per SM in all, each chunk at least kMinChunk
  // elements and a multiple of 4 (the chunks of a 16-byte aligned row are aligned too). On 132 SMs at vocab
  // 151936: 1 row -> 64 chunks of 2376, 64 rows -> 17 of 8940, 1056 rows or more -> 1.
  const int max_chunks = std::clamp(vocab / kMinChunk, 1, kMaxChunks);
  const int wanted =
      static_cast<int>(std::min<int64_t>(ceil_div(kChunkBlocksPerSm * multiprocessor_count(), rows), max_chunks));
  const int chunk_len = static_cast<int>(ceil_div(ceil_div(vocab, wanted), 4) * 4);
  const int chunks = static_cast<int>(ceil_div(vocab, chunk_len));  // every chunk non-empty
  DeviceScratch chunk_stats(size_t(rows) * chunks * sizeof(Stats));
  DeviceScratch chunk_top(size_t(rows) * chunks * top_stride * sizeof(ArgMax));
  chunk_kernel<<<dim3(rows, chunks), kChunkThreads, 0, stream>>>(
      logits.data<float>(), vocab, chunk_len, d_params, chunk_stats.as<Stats>(), chunk_top.as<ArgMax>(), top_stride);
  CUDA_CHECK_LAUNCH();
  const size_t merge_bytes = size_t(chunks) * top_stride * sizeof(ArgMax);  // at most 32 KB
  prepare_kernel<<<rows, kThreads, merge_bytes, stream>>>(
      logits.data<float>(), vocab, chunks, chunk_len, d_params, chunk_stats.as<Stats>(), chunk_top.as<ArgMax>(),
      top_stride, d_pen, pen_saved.as<float>(), keys_in.as<float>(), ids_in.as<int32_t>(), results.as<RowResult>(),
      sampled_ids.data<int32_t>());
  CUDA_CHECK_LAUNCH();
  if (sorted > 0) {
    DeviceScratch keys_out(sort_elems * sizeof(float)), ids_out(sort_elems * 4);
    size_t temp_bytes = 0;
    CUDA_CHECK(cub::DeviceSegmentedRadixSort::SortPairsDescending(
        nullptr, temp_bytes, keys_in.as<float>(), keys_out.as<float>(), ids_in.as<int32_t>(), ids_out.as<int32_t>(),
        static_cast<int>(sort_elems), sorted, d_offsets, d_offsets + 1, 0, 32, stream));
    DeviceScratch temp(temp_bytes);
    CUDA_CHECK(cub::DeviceSegmentedRadixSort::SortPairsDescending(
        temp.as<void>(), temp_bytes, keys_in.as<float>(), keys_out.as<float>(), ids_in.as<int32_t>(),
        ids_out.as<int32_t>(), static_cast<int>(sort_elems), sorted, d_offsets, d_offsets + 1, 0, 32, stream));
    walk_kernel<<<sorted, kThreads, 0, stream>>>(logits.data<float>(), vocab, d_params, d_rows, d_pen,
                                                 pen_saved.as<float>(), keys_out.as<float>(), ids_out.as<int32_t>(),
                                                 results.as<RowResult>(), sampled_ids.data<int32_t>());
    CUDA_CHECK_LAUNCH();
  }
  auto* host_results = static_cast<RowResult*>(slot->download.reserve(rows * sizeof(RowResult)));
  CUDA_CHECK(
      cudaMemcpyAsync(host_results, results.as<RowResult>(), rows * sizeof(RowResult), cudaMemcpyDeviceToHost, stream));
  CUDA_CHECK(cudaEventRecord(slot->done, stream));

  return SampleFuture(std::move(sampled_ids), [slot, rows, host_results] {
    CUDA_CHECK(cudaEventSynchronize(slot->done));
    std::vector<SampleResult> out(rows);
    for (int s = 0; s < rows; ++s) {
      out[s].token = host_results[s].token;
      out[s].logprob = host_results[s].logprob;
      for (int n = 0; n < host_results[s].num_top; ++n)
        out[s].top_logprobs.emplace_back(host_results[s].top_ids[n], host_results[s].top_logprobs[n]);
    }
    return out;
  });
}

void resolve_feedback_tokens(const ExecContext& ctx, const Tensor& sampled, Tensor& ids) {
  check_on_device(sampled, "resolve_feedback_tokens", "sampled");
  check_on_device(ids, "resolve_feedback_tokens", "ids");
  const int n = static_cast<int>(ids.numel());
  if (n == 0) return;
  launch_dependent(resolve_feedback_kernel, dim3(static_cast<unsigned>(ceil_div(n, 256))), dim3(256), 0, stream_of(ctx),
                   sampled.data<int32_t>(), static_cast<int>(sampled.numel()), ids.data<int32_t>(), n);
}

}  // namespace turbolm::cuda
