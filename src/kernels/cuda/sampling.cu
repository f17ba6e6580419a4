// sample: logits -> tokens on the device; only the per-row results cross to the host (one copy, one sync).
// Reproduces the CPU backend's procedure (kernels/cpu/sampling.cc) step for step:
//   prepare_kernel (one block per row): raw log-softmax statistics (f64 sum), top-N raw logprobs, repetition
//     penalty over the unique penalty ids, then greedy argmax (lowest id on ties) or z = l / temperature;
//   non-greedy rows: a segmented radix sort orders z descending (stable, so ties keep ids ascending);
//   walk_kernel: top-k prefix, W, min-p, the top-p cut and the inverse-CDF draw with u = random_uniform(seed,
//     step), as block-wide f64 prefix sums over the sorted order.
#include <algorithm>
#include <cstring>
#include <cub/block/block_scan.cuh>
#include <cub/device/device_segmented_radix_sort.cuh>
#include <mutex>

#include "kernels/cuda/common.cuh"
#include "kernels/cuda/cuda_ops.h"
#include "kernels/cuda/cuda_runtime.h"
#include "ops/random.h"

namespace turbolm::cuda {
namespace {

constexpr int kThreads = 512;
constexpr int kMaxLogprobs = 64;

struct RowParams {
  int greedy;
  float temperature;
  int top_k;
  float top_p;
  float min_p;
  float repetition_penalty;
  unsigned long long seed;
  unsigned long long step;
  int num_logprobs;
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

// Larger value first, lower id on ties.
__device__ __forceinline__ bool before(float v, int id, float w, int wid) { return v > w || (v == w && id < wid); }

__device__ ArgMax block_argmax(ArgMax a, ArgMax* scratch) {
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) {
    const float v = __shfl_xor_sync(0xffffffffu, a.value, o);
    const int id = __shfl_xor_sync(0xffffffffu, a.id, o);
    if (before(v, id, a.value, a.id)) a = {v, id};
  }
  __syncthreads();
  if (lane == 0) scratch[warp] = a;
  __syncthreads();
  a = lane < kThreads / 32 ? scratch[lane] : ArgMax{-INFINITY, INT_MAX};
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) {
    const float v = __shfl_xor_sync(0xffffffffu, a.value, o);
    const int id = __shfl_xor_sync(0xffffffffu, a.id, o);
    if (before(v, id, a.value, a.id)) a = {v, id};
  }
  return a;
}

__device__ double block_sum_f64(double v, double* scratch) {
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  __syncthreads();
  if (lane == 0) scratch[warp] = v;
  __syncthreads();
  v = lane < kThreads / 32 ? scratch[lane] : 0.0;
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
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

__global__ void __launch_bounds__(kThreads)
    prepare_kernel(float* __restrict__ logits, int vocab, const RowParams* __restrict__ params,
                   const int32_t* __restrict__ pen_ids, float* __restrict__ pen_saved, float* __restrict__ sort_keys,
                   int32_t* __restrict__ sort_ids, RowResult* __restrict__ results) {
  __shared__ float scratch_f[32];
  __shared__ double scratch_d[32];
  __shared__ ArgMax scratch_a[32];
  __shared__ int found_index;
  const int s = blockIdx.x;
  const RowParams p = params[s];
  float* row = logits + int64_t{s} * vocab;
  RowResult& res = results[s];

  float mx = -INFINITY;
  for (int i = threadIdx.x; i < vocab; i += kThreads) mx = fmaxf(mx, row[i]);
  mx = block_max(mx, scratch_f);
  double sum = 0.0;
  for (int i = threadIdx.x; i < vocab; i += kThreads) sum += exp(static_cast<double>(row[i]) - mx);
  const double lse = mx + log(block_sum_f64(sum, scratch_d));

  // Top-N raw logprobs: N rounds of "the best element ordered after the previous pick".
  ArgMax prev{INFINITY, -1};
  const int num_top = min(p.num_logprobs, min(kMaxLogprobs, vocab));
  for (int n = 0; n < num_top; ++n) {
    ArgMax best{-INFINITY, INT_MAX};
    for (int i = threadIdx.x; i < vocab; i += kThreads) {
      const float v = row[i];
      if (before(prev.value, prev.id, v, i) && before(v, i, best.value, best.id)) best = {v, i};
    }
    best = block_argmax(best, scratch_a);
    if (threadIdx.x == 0) {
      res.top_ids[n] = best.id;
      res.top_logprobs[n] = static_cast<float>(best.value - lse);
    }
    prev = best;
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
    ArgMax best{-INFINITY, INT_MAX};
    for (int i = threadIdx.x; i < vocab; i += kThreads)
      if (before(row[i], i, best.value, best.id)) best = {row[i], i};
    best = block_argmax(best, scratch_a);
    const float raw = raw_logit(row, ids, saved, pen_count, best.id, &found_index);
    if (threadIdx.x == 0) {
      res.token = best.id;
      res.logprob = static_cast<float>(raw - lse);
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
                RowResult* __restrict__ results) {
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
  const double total = block_sum_f64(w_sum, scratch_d);  // W, before min-p
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
  }
}

size_t align_up(size_t n) { return (n + 255) / 256 * 256; }

}  // namespace

std::vector<SampleResult> sample(const ExecContext& ctx, Tensor& logits, std::span<const SamplingParams> params,
                                 std::span<const std::span<const int32_t>> penalty_tokens) {
  check_on_device(logits, "sample", "logits");
  TLM_CHECK(logits.dtype() == DType::kF32) << "sample: logits must be f32, got " << logits.to_string();
  const int rows = static_cast<int>(logits.dim(0)), vocab = static_cast<int>(logits.dim(1));
  TLM_CHECK_EQ(static_cast<int>(params.size()), rows) << "sample: one SamplingParams per row";
  if (rows == 0) return {};
  const cudaStream_t stream = stream_of(ctx);
  static std::mutex mutex;  // the staging buffers below are shared
  std::lock_guard<std::mutex> lock(mutex);
  static PinnedBuffer upload, download;  // persist across calls: one upload, one download per step

  // Upload layout: RowParams[rows] | penalty ids | sort-row list | sort segment offsets.
  std::vector<RowParams> row_params(rows);
  std::vector<int> sort_rows;
  size_t total_penalty = 0;
  for (int s = 0; s < rows; ++s) {
    const SamplingParams& sp = params[s];
    TLM_CHECK(sp.num_logprobs <= kMaxLogprobs) << "sample: CUDA returns at most " << kMaxLogprobs << " logprobs";
    const size_t count = s < static_cast<int>(penalty_tokens.size()) ? penalty_tokens[s].size() : 0;
    row_params[s] = RowParams{sp.greedy ? 1 : 0,
                              sp.temperature,
                              sp.top_k,
                              sp.top_p,
                              sp.min_p,
                              sp.repetition_penalty,
                              sp.seed,
                              sp.step,
                              sp.num_logprobs,
                              static_cast<int>(total_penalty),
                              static_cast<int>(count),
                              sp.greedy ? -1 : static_cast<int>(sort_rows.size())};
    if (!sp.greedy) sort_rows.push_back(s);
    total_penalty += count;
  }
  const int sorted = static_cast<int>(sort_rows.size());
  const size_t params_bytes = align_up(rows * sizeof(RowParams));
  const size_t pen_bytes = align_up(std::max<size_t>(total_penalty, 1) * sizeof(int32_t));
  const size_t rows_bytes = align_up(std::max(sorted, 1) * sizeof(int));
  const size_t offsets_bytes = align_up((sorted + 1) * sizeof(int));
  const size_t upload_bytes = params_bytes + pen_bytes + rows_bytes + offsets_bytes;
  char* host = static_cast<char*>(upload.reserve(upload_bytes));
  std::memcpy(host, row_params.data(), rows * sizeof(RowParams));
  int32_t* host_pen = reinterpret_cast<int32_t*>(host + params_bytes);
  for (int s = 0; s < static_cast<int>(penalty_tokens.size()) && s < rows; ++s)
    std::copy(penalty_tokens[s].begin(), penalty_tokens[s].end(), host_pen + row_params[s].penalty_offset);
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
  prepare_kernel<<<rows, kThreads, 0, stream>>>(logits.data<float>(), vocab, d_params, d_pen, pen_saved.as<float>(),
                                                keys_in.as<float>(), ids_in.as<int32_t>(), results.as<RowResult>());
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
                                                 results.as<RowResult>());
    CUDA_CHECK_LAUNCH();
  }
  RowResult* host_results = static_cast<RowResult*>(download.reserve(rows * sizeof(RowResult)));
  CUDA_CHECK(
      cudaMemcpyAsync(host_results, results.as<RowResult>(), rows * sizeof(RowResult), cudaMemcpyDeviceToHost, stream));
  CUDA_CHECK(cudaStreamSynchronize(stream));

  std::vector<SampleResult> out(rows);
  for (int s = 0; s < rows; ++s) {
    out[s].token = host_results[s].token;
    out[s].logprob = host_results[s].logprob;
    for (int n = 0; n < host_results[s].num_top; ++n)
      out[s].top_logprobs.emplace_back(host_results[s].top_ids[n], host_results[s].top_logprobs[n]);
  }
  return out;
}

}  // namespace turbolm::cuda
