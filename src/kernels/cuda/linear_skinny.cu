// Skinny tensor-core GEMM for decode batches: y[T, out] = x[T, in] . W[out, in]^T (+ f32 bias), T <= 128.
//
// At these T the op is bound by reading W (8 MB - 1.2 GB per call at Qwen3-8B shapes) while x (<= 3 MB) stays in L2,
// so the kernel is built around streaming W once with many bytes in flight:
//
//  * Block = 8 warps (256 threads), one block per SM (192 KB of shared memory, up to ~200 registers at T <= 128).
//    The block tile is BM x BK = (256 / KW) rows x (64 * KW) k, always 16384 weight elements (32 KB) per stage;
//    KW ("k-warps", runtime: 1, 2, 4, 8) warps share each 32-row group along k and are reduced through shared
//    memory at the end. Small KW gives tall tiles (x is re-read from L2 out / BM times), large KW gives more tiles
//    for small `out` and longer contiguous row segments (128 * KW bytes per row and stage).
//  * Warp tile = 32 rows (two m16 tiles) x NT tokens (NT = 16, 32, 64, 128: template) x 64 k per stage, f32
//    accumulators in registers (NT floats per thread). mma.sync.m16n8k16 with W as the A operand (16 rows x 16 k)
//    and x as the B operand (16 k x 8 tokens); n-tiles wholly past T are skipped.
//  * Pipeline: 4 stages (3 for NT = 128) of cp.async.cg 16-byte copies: W tile (32 KB, L2 evict-first) + x tile
//    (NT x BK, <= 16 KB; 32 KB for NT = 128, KW = 2). Three (two) stages in flight = 96 KB (64 KB) of weights per
//    SM, ~12 MB over 132 SMs, well above what HBM3 needs to stay busy (~3 TB/s x ~1.5 us).
//  * Permuted k: inside a warp's 64-k slab, lane (g = lane / 4, t = lane % 4) owns the 32 contiguous bytes
//    [16t, 16t + 16) of its rows (g, g + 8) and of its token rows; for k-step s (0..3) the fragment registers
//    are words 2s and 2s + 1 of those 32 bytes. A and B use the same k permutation, so the products are exact
//    sums over the slab, and every fragment load is one 16-byte ld.shared (no ldmatrix). Shared rows are XOR
//    swizzled in 16-byte chunks (chunk ^ (row & 7)): cp.async stores and fragment loads are conflict-free.
//  * Split-K across blocks (`splits`) when there are too few row tiles to keep the SMs streaming: each block
//    writes its f32 tile to a workspace, bumps a per-tile counter, and the last block of the tile sums all the
//    partials in split order (deterministic, independent of arrival order), adds the bias, writes y and resets
//    the counter for the next launch (no memset per call, graph-capturable).
//  * Tokens past T: x rows [T, NT) are zeroed once in every stage and never copied into; rows of W past `out` and
//    k past `in` are zero-filled by cp.async (src-size 0, nothing read); y rows >= T and columns >= out are never
//    written.
//
// The tiling (NT, KW, splits) is chosen per shape by a small cost model (plan_for); see its constants.
#include <algorithm>
#include <cmath>
#include <map>
#include <memory>
#include <mutex>

#include "kernels/cuda/common.cuh"
#include "kernels/cuda/linear_skinny.cuh"
#include "kernels/cuda/mma.cuh"

namespace turbolm::cuda {
namespace {

constexpr int kWarps = 8;
constexpr int kThreads = kWarps * 32;
constexpr int kWarpRows = 32;                            // two m16 tiles per warp
constexpr int kWarpK = 64;                               // k per warp and stage (four k16 steps)
constexpr int kTileElems = kWarps * kWarpRows * kWarpK;  // weight elements per stage, any KW
constexpr int kWStageBytes = kTileElems * 2;             // 32 KB
constexpr int kMaxCounterTiles = 1024;                   // row tiles that may use split-K
constexpr int kMaxSplits = 32;

template <int NT>
constexpr int stages() {
  return NT == 128 ? 3 : 4;
}
// NT * KW <= 128 keeps the x tile at <= 16 KB per stage (<= 32 KB for NT = 128 with 3 stages).
template <int NT>
constexpr int max_k_warps() {
  return (NT == 128 ? 256 : 128) / NT;
}
inline int max_k_warps(int nt) { return (nt == 128 ? 256 : 128) / nt; }
inline size_t stage_bytes(int nt, int k_warps) { return size_t{kWStageBytes} + size_t(nt) * k_warps * kWarpK * 2; }
template <int NT>
constexpr size_t max_smem_bytes() {
  return size_t(stages<NT>()) * (size_t{kWStageBytes} + size_t(NT) * max_k_warps<NT>() * kWarpK * 2);
}
static_assert(max_smem_bytes<16>() <= 200 * 1024 && max_smem_bytes<32>() <= 200 * 1024 &&
              max_smem_bytes<64>() <= 200 * 1024 && max_smem_bytes<128>() <= 200 * 1024);

struct SkinnyArgs {
  const void* w;
  const void* x;
  const float* bias;
  void* y;
  float* partials;  // [tiles * splits][BM * NT] f32 (fragment order), only when splits > 1
  int* counters;    // [tiles], zero between launches, only when splits > 1
  int tokens, in, out;
  int kw_log2;  // KW = 1 << kw_log2
  int splits, iters_per_split, k_iters;
};

// The 32 bytes of two 16-byte shared chunks as eight words (explicit ld.shared.v4: the compiler otherwise splits
// some of these loads into 4- and 8-byte pieces).
__device__ __forceinline__ void load_words(const void* lo, const void* hi, uint32_t (&w)[8]) {
  asm volatile("ld.shared.v4.u32 {%0,%1,%2,%3}, [%4];\n"
               : "=r"(w[0]), "=r"(w[1]), "=r"(w[2]), "=r"(w[3])
               : "r"(static_cast<uint32_t>(__cvta_generic_to_shared(lo)))
               : "memory");
  asm volatile("ld.shared.v4.u32 {%0,%1,%2,%3}, [%4];\n"
               : "=r"(w[4]), "=r"(w[5]), "=r"(w[6]), "=r"(w[7])
               : "r"(static_cast<uint32_t>(__cvta_generic_to_shared(hi)))
               : "memory");
}

// One accumulator fragment (rows row, row + 8; tokens tok, tok + 1) plus bias into y; skips rows >= out and
// tokens >= tokens.
template <typename T>
__device__ __forceinline__ void store_fragment(T* __restrict__ y, const float* __restrict__ bias, float v0, float v1,
                                               float v2, float v3, int row, int tok, int tokens, int out) {
  if (row < out) {
    const float b = bias != nullptr ? bias[row] : 0.0f;
    if (tok < tokens) y[int64_t{tok} * out + row] = from_float<T>(v0 + b);
    if (tok + 1 < tokens) y[int64_t{tok + 1} * out + row] = from_float<T>(v1 + b);
  }
  if (row + 8 < out) {
    const float b = bias != nullptr ? bias[row + 8] : 0.0f;
    if (tok < tokens) y[int64_t{tok} * out + row + 8] = from_float<T>(v2 + b);
    if (tok + 1 < tokens) y[int64_t{tok + 1} * out + row + 8] = from_float<T>(v3 + b);
  }
}

template <typename T, int NT>
__global__ void __launch_bounds__(kThreads, 1) skinny_gemm_kernel(const SkinnyArgs a) {
  begin_dependent_kernel();
  constexpr int kStages = stages<NT>();
  constexpr int kNTiles = NT / 8;
  constexpr int kNTilesLog2 = NT == 16 ? 1 : NT == 32 ? 2 : NT == 64 ? 3 : 4;
  extern __shared__ __align__(128) unsigned char smem_raw[];
  __shared__ int s_is_last;

  const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
  const int g = lane >> 2, t = lane & 3;
  const int kw_log2 = a.kw_log2;
  const int bm = 256 >> kw_log2, bk = 64 << kw_log2, chunks_log2 = 3 + kw_log2;  // 16-byte chunks per row
  const int wr = warp >> kw_log2, wk = warp & ((1 << kw_log2) - 1);
  const int stage_elems = kTileElems + NT * bk;
  const int tokens = a.tokens, in = a.in, out = a.out;
  const int n_used = (tokens + 7) >> 3;  // n-tiles holding at least one real token

  const int tile = blockIdx.x / a.splits, split = blockIdx.x - tile * a.splits;
  const int row0 = tile * bm;
  const int it_begin = split * a.iters_per_split;
  const int n_iters = min(a.k_iters, it_begin + a.iters_per_split) - it_begin;

  T* smem = reinterpret_cast<T*>(smem_raw);
  const T* __restrict__ w = static_cast<const T*>(a.w);
  const T* __restrict__ x = static_cast<const T*>(a.x);

  // x rows [tokens, NT) of every stage: zero once; cp.async never writes them.
  {
    const int zero_chunks = (NT - tokens) << chunks_log2;
    for (int s = 0; s < kStages; ++s) {
      uint4* dst = reinterpret_cast<uint4*>(smem + s * stage_elems + kTileElems + tokens * bk);
      for (int i = tid; i < zero_chunks; i += kThreads) dst[i] = make_uint4(0, 0, 0, 0);
    }
  }

  const uint64_t policy = l2_evict_first_policy();
  auto load_stage = [&](int stage, int iter) {
    const int k0 = (it_begin + iter) * bk;
    T* ws = smem + stage * stage_elems;
    T* xs = ws + kTileElems;
    // Weights: 2048 chunks, 8 per thread; a warp copies 32 consecutive chunks (128 * KW contiguous bytes per row).
#pragma unroll
    for (int j = 0; j < kTileElems / 8 / kThreads; ++j) {
      const int i = tid + j * kThreads;
      const int r = i >> chunks_log2, c = i & ((1 << chunks_log2) - 1);
      const int grow = row0 + r, gk = k0 + c * 8;
      const bool ok = grow < out && gk < in;
      const T* src = ok ? w + int64_t{grow} * in + gk : w;
      cp_async_16_cache_hint(ws + r * bk + ((c ^ (r & 7)) << 3), src, ok ? 16 : 0, policy);
    }
    // Activations: rows < tokens only.
    const int x_chunks = tokens << chunks_log2;
    for (int i = tid; i < x_chunks; i += kThreads) {
      const int r = i >> chunks_log2, c = i & ((1 << chunks_log2) - 1);
      const int gk = k0 + c * 8;
      const bool ok = gk < in;
      const T* src = ok ? x + int64_t{r} * in + gk : x;
      cp_async_16(xs + r * bk + ((c ^ (r & 7)) << 3), src, ok ? 16 : 0);
    }
  };

  float acc[2][kNTiles][4];
#pragma unroll
  for (int m = 0; m < 2; ++m)
#pragma unroll
    for (int n = 0; n < kNTiles; ++n)
#pragma unroll
      for (int e = 0; e < 4; ++e) acc[m][n][e] = 0.0f;

  // This lane's two 16-byte chunks of every row it reads (row & 7 == g for all of them).
  const int chunk_lo = (wk << 3) + ((2 * t) ^ g), chunk_hi = (wk << 3) + ((2 * t + 1) ^ g);

  auto compute_stage = [&](int stage) {
    const T* ws = smem + stage * stage_elems;
    const T* xs = ws + kTileElems;
    uint32_t af[2][2][8];  // [m][rows g / g + 8][word]
#pragma unroll
    for (int m = 0; m < 2; ++m) {
#pragma unroll
      for (int h = 0; h < 2; ++h) {
        const T* rp = ws + (wr * kWarpRows + m * 16 + h * 8 + g) * bk;
        load_words(rp + chunk_lo * 8, rp + chunk_hi * 8, af[m][h]);
      }
    }
#pragma unroll
    for (int n = 0; n < kNTiles; ++n) {
      if (n < n_used) {
        const T* xp = xs + (n * 8 + g) * bk;
        uint32_t bw[8];
        load_words(xp + chunk_lo * 8, xp + chunk_hi * 8, bw);
#pragma unroll
        for (int s = 0; s < 4; ++s) {
#pragma unroll
          for (int m = 0; m < 2; ++m) {
            const uint32_t a[4] = {af[m][0][2 * s], af[m][1][2 * s], af[m][0][2 * s + 1], af[m][1][2 * s + 1]};
            mma_16816<T>(acc[m][n], a, bw[2 * s], bw[2 * s + 1]);
          }
        }
      }
    }
  };

  // Multi-stage pipeline: iteration `it` waits for its stage, then refills the stage computed at it - 1 (every
  // warp is past it: barrier) with iteration it + kStages - 1. One commit group per iteration, empty at the tail.
#pragma unroll
  for (int s = 0; s < kStages - 1; ++s) {
    if (s < n_iters) load_stage(s, s);
    cp_async_commit();
  }
  int read_stage = 0, write_stage = kStages - 1;
  for (int it = 0; it < n_iters; ++it) {
    cp_async_wait<kStages - 2>();
    __syncthreads();
    if (it + kStages - 1 < n_iters) load_stage(write_stage, it + kStages - 1);
    cp_async_commit();
    compute_stage(read_stage);
    read_stage = read_stage == kStages - 1 ? 0 : read_stage + 1;
    write_stage = write_stage == kStages - 1 ? 0 : write_stage + 1;
  }
  cp_async_wait<0>();
  __syncthreads();  // the stages are free from here on

  // Sum the KW warps of each row group into warp wk == 0 (in wk order), through the stage memory.
  if (kw_log2 > 0) {
    float4* red = reinterpret_cast<float4*>(smem_raw);
    const int groups = kWarps >> kw_log2;
    if (wk != 0) {
#pragma unroll
      for (int m = 0; m < 2; ++m)
#pragma unroll
        for (int n = 0; n < kNTiles; ++n)
          if (n < n_used)
            red[((((wk - 1) * groups + wr) * 2 + m) * kNTiles + n) * 32 + lane] =
                make_float4(acc[m][n][0], acc[m][n][1], acc[m][n][2], acc[m][n][3]);
    }
    __syncthreads();
    if (wk == 0) {
      for (int j = 1; j < (1 << kw_log2); ++j) {
#pragma unroll
        for (int m = 0; m < 2; ++m)
#pragma unroll
          for (int n = 0; n < kNTiles; ++n)
            if (n < n_used) {
              const float4 v = red[((((j - 1) * groups + wr) * 2 + m) * kNTiles + n) * 32 + lane];
              acc[m][n][0] += v.x;
              acc[m][n][1] += v.y;
              acc[m][n][2] += v.z;
              acc[m][n][3] += v.w;
            }
      }
    }
  }

  T* __restrict__ y = static_cast<T*>(a.y);
  const int warp_row0 = row0 + wr * kWarpRows + g;
  if (a.splits == 1) {
    if (wk == 0) {
#pragma unroll
      for (int m = 0; m < 2; ++m)
#pragma unroll
        for (int n = 0; n < kNTiles; ++n)
          if (n < n_used)
            store_fragment<T>(y, a.bias, acc[m][n][0], acc[m][n][1], acc[m][n][2], acc[m][n][3], warp_row0 + m * 16,
                              n * 8 + 2 * t, tokens, out);
    }
    return;
  }

  // Split-K: this block's f32 tile in fragment order, slot blockIdx.x; float4 index ((wr * 2 + m) * NTiles + n)
  // * 32 + lane.
  const int slot_float4 = (kWarps >> kw_log2) * 2 * kNTiles * 32;  // BM * NT / 4
  if (wk == 0) {
    float4* slot = reinterpret_cast<float4*>(a.partials) + int64_t{blockIdx.x} * slot_float4;
#pragma unroll
    for (int m = 0; m < 2; ++m)
#pragma unroll
      for (int n = 0; n < kNTiles; ++n)
        if (n < n_used)
          __stcg(slot + ((wr * 2 + m) * kNTiles + n) * 32 + lane,
                 make_float4(acc[m][n][0], acc[m][n][1], acc[m][n][2], acc[m][n][3]));
  }
  __threadfence();  // publish this block's partials before the counter says so
  __syncthreads();
  if (tid == 0) {
    const int arrived = atomicAdd(a.counters + tile, 1);
    const int last = arrived == a.splits - 1;
    if (last) atomicExch(a.counters + tile, 0);  // every split has arrived: ready for the next launch
    s_is_last = last;
  }
  __syncthreads();
  if (!s_is_last) return;
  __threadfence();

  // Last block of the tile: all partials (its own included, re-read) summed in split order by all threads,
  // kFinishUnroll float4 per thread in flight per split.
  constexpr int kFinishUnroll = 8;
  const float4* tile_parts = reinterpret_cast<const float4*>(a.partials) + int64_t{tile} * a.splits * slot_float4;
  for (int q0 = tid; q0 < slot_float4; q0 += kFinishUnroll * kThreads) {
    float4 sum[kFinishUnroll];
    bool use[kFinishUnroll];
#pragma unroll
    for (int u = 0; u < kFinishUnroll; ++u) {
      const int q = q0 + u * kThreads;
      use[u] = q < slot_float4 && ((q >> 5) & (kNTiles - 1)) < n_used;
      sum[u] = make_float4(0.0f, 0.0f, 0.0f, 0.0f);
    }
    for (int j = 0; j < a.splits; ++j) {
      const float4* part = tile_parts + int64_t{j} * slot_float4 + q0;
      float4 v[kFinishUnroll];
#pragma unroll
      for (int u = 0; u < kFinishUnroll; ++u)
        v[u] = use[u] ? __ldcg(part + u * kThreads) : make_float4(0.0f, 0.0f, 0.0f, 0.0f);
#pragma unroll
      for (int u = 0; u < kFinishUnroll; ++u) {
        sum[u].x += v[u].x;
        sum[u].y += v[u].y;
        sum[u].z += v[u].z;
        sum[u].w += v[u].w;
      }
    }
#pragma unroll
    for (int u = 0; u < kFinishUnroll; ++u) {
      if (!use[u]) continue;
      const int q = q0 + u * kThreads;
      const int q_lane = q & 31, frag = q >> 5;
      const int n = frag & (kNTiles - 1), mw = frag >> kNTilesLog2;  // mw = wr * 2 + m
      const int row = row0 + (mw >> 1) * kWarpRows + (mw & 1) * 16 + (q_lane >> 2);
      const int tok = n * 8 + 2 * (q_lane & 3);
      store_fragment<T>(y, a.bias, sum[u].x, sum[u].y, sum[u].z, sum[u].w, row, tok, tokens, out);
    }
  }
}

// ---- host side --------------------------------------------------------------------------------------------------

// Split-K workspace of the current device: partials (grow-only, from the caching allocator; the old buffer goes
// back to the cache, which is safe in stream order) and the tile counters (zeroed once on the caller's stream,
// reset by the kernel itself). Allocation happens only when a larger split-K problem than before appears, so a
// warm-up call of the largest shape makes later calls (and graph capture) allocation-free.
class SplitWorkspace {
 public:
  static void get(size_t partial_bytes, cudaStream_t stream, float** partials, int** counters) {
    static auto* mutex = new std::mutex();
    static auto* by_device = new std::map<int, SplitWorkspace>();
    int device = 0;
    CUDA_CHECK(cudaGetDevice(&device));
    std::lock_guard<std::mutex> lock(*mutex);
    SplitWorkspace& ws = (*by_device)[device];
    if (!ws.counters_) {
      ws.counters_ = std::make_unique<DeviceScratch>(kMaxCounterTiles * sizeof(int));
      CUDA_CHECK(cudaMemsetAsync(ws.counters_->as<int>(), 0, kMaxCounterTiles * sizeof(int), stream));
    }
    if (ws.partial_bytes_ < partial_bytes) {
      ws.partials_.reset();
      ws.partials_ = std::make_unique<DeviceScratch>(partial_bytes);
      ws.partial_bytes_ = partial_bytes;
      bump_workspace_epoch();  // graphs that use the old partials must be captured again
    }
    *partials = ws.partials_->as<float>();
    *counters = ws.counters_->as<int>();
  }

 private:
  std::unique_ptr<DeviceScratch> partials_, counters_;
  size_t partial_bytes_ = 0;
};

// Cost model for choosing (NT, KW, splits): seconds on an H100 SXM, rough on purpose. The terms: HBM (weights +
// split-K partial writes), L2 (weights + x re-reads + partials), per-SM streaming and mma.sync throughput per
// wave, the serial reduction by the last block of a split tile, and a pipeline ramp per wave.
constexpr double kHbmBytesPerS = 2.9e12;
constexpr double kL2BytesPerS = 6.5e12;
constexpr double kSmStreamBytesPerS = 50e9;  // one block: 64-96 KB in flight over ~1.5 us loaded latency
constexpr double kSmMmaPerS = 0.5 * 1.7e9;   // m16n8k16 per SM and second (mma.sync, about half of peak)
constexpr double kSmL2BytesPerS = 100e9;     // last block reading the partials of its tile
constexpr double kWaveRampS = 1.5e-6;

struct Shape {
  int token_tile, kw_log2, splits, iters_per_split, k_iters, tiles;
};

int token_tile_for(int tokens) { return tokens <= 16 ? 16 : tokens <= 32 ? 32 : tokens <= 64 ? 64 : 128; }

bool problem_supported(int tokens, int in, int out) {
  return tokens >= 1 && tokens <= 128 && in >= 8 && in % 8 == 0 && out >= 1;
}

// The concrete tiling of a plan; false when the plan is invalid for this problem.
bool resolve(const SkinnyGemmPlan& plan, int tokens, int in, int out, Shape& s) {
  const int nt = plan.token_tile;
  if (nt != 16 && nt != 32 && nt != 64 && nt != 128) return false;
  if (nt < tokens) return false;
  int kw_log2 = -1;
  for (int l = 0; l < 4; ++l)
    if (plan.k_warps == (1 << l)) kw_log2 = l;
  if (kw_log2 < 0 || plan.k_warps > max_k_warps(nt) || plan.splits < 1) return false;
  const int bm = 256 >> kw_log2, bk = 64 << kw_log2;
  s.token_tile = nt;
  s.kw_log2 = kw_log2;
  s.tiles = static_cast<int>(ceil_div(out, bm));
  s.k_iters = static_cast<int>(ceil_div(in, bk));
  const int splits = std::min({plan.splits, s.k_iters, kMaxSplits});
  s.iters_per_split = static_cast<int>(ceil_div(s.k_iters, splits));
  s.splits = static_cast<int>(ceil_div(s.k_iters, s.iters_per_split));  // no empty split
  if (s.splits > 1 && s.tiles > kMaxCounterTiles) return false;
  return true;
}

double estimate_seconds(const Shape& s, int tokens, int in, int out, int sms) {
  const int bm = 256 >> s.kw_log2, bk = 64 << s.kw_log2;
  const double t8 = 8.0 * ceil_div(tokens, 8);
  const double blocks = double(s.tiles) * s.splits;
  const double waves = std::ceil(blocks / sms);
  const double w_bytes = 2.0 * out * in;
  const double k_bytes = 2.0 * double(s.iters_per_split) * bk;  // bytes per row and block
  const double x_bytes = double(s.tiles) * tokens * 2.0 * double(s.k_iters) * bk;
  const double part_bytes = s.splits > 1 ? blocks * bm * t8 * 4.0 : 0.0;
  const double t_hbm = (w_bytes + part_bytes) / kHbmBytesPerS;
  const double t_l2 = (w_bytes + x_bytes + 2.0 * part_bytes) / kL2BytesPerS;
  const double t_sm = waves * (bm + tokens) * k_bytes / kSmStreamBytesPerS;
  const double mma_per_block = (bm / 16.0) * (t8 / 8.0) * s.iters_per_split * (bk / 16.0);
  const double t_mma = waves * mma_per_block / kSmMmaPerS;
  const double t_finish = s.splits > 1 ? s.splits * bm * t8 * 4.0 / kSmL2BytesPerS : 0.0;
  return std::max({t_hbm, t_l2, t_sm, t_mma}) + t_finish + waves * kWaveRampS;
}

SkinnyGemmPlan plan_for(int tokens, int in, int out, int sms) {
  SkinnyGemmPlan best;
  if (!problem_supported(tokens, in, out)) return best;
  const int nt = token_tile_for(tokens);
  double best_s = INFINITY;
  for (int k_warps = 1; k_warps <= max_k_warps(nt); k_warps *= 2) {
    for (int splits = 1; splits <= kMaxSplits; ++splits) {
      const SkinnyGemmPlan plan{nt, k_warps, splits};
      Shape s;
      if (!resolve(plan, tokens, in, out, s) || s.splits != splits) continue;
      if (splits > 1 && double(s.tiles) * splits > sms) continue;  // split-K only within one wave
      const double seconds = estimate_seconds(s, tokens, in, out, sms);
      if (seconds < best_s) {
        best_s = seconds;
        best = plan;
      }
    }
  }
  return best;
}

template <typename T, int NT>
void launch(const SkinnyArgs& args, int blocks, cudaStream_t stream) {
  ensure_max_dynamic_shared_memory(reinterpret_cast<const void*>(skinny_gemm_kernel<T, NT>), max_smem_bytes<NT>());
  const size_t smem = stages<NT>() * stage_bytes(NT, 1 << args.kw_log2);
  launch_dependent(skinny_gemm_kernel<T, NT>, blocks, kThreads, smem, stream, args);
}

template <typename T>
void launch_token_tile(int nt, const SkinnyArgs& args, int blocks, cudaStream_t stream) {
  switch (nt) {
    case 16: return launch<T, 16>(args, blocks, stream);
    case 32: return launch<T, 32>(args, blocks, stream);
    case 64: return launch<T, 64>(args, blocks, stream);
    default: return launch<T, 128>(args, blocks, stream);
  }
}

// Opt-in shared memory per block of the current device (cached per process, like multiprocessor_count): 227 KB
// on H100; an A100 (163 KB) cannot run the 192 KB configurations, so skinny_gemm declines there.
size_t max_optin_smem_bytes() {
  static const size_t bytes = [] {
    int device = 0, value = 0;
    CUDA_CHECK(cudaGetDevice(&device));
    CUDA_CHECK(cudaDeviceGetAttribute(&value, cudaDevAttrMaxSharedMemoryPerBlockOptin, device));
    return static_cast<size_t>(value);
  }();
  return bytes;
}

size_t max_smem_bytes(int nt) {
  switch (nt) {
    case 16: return max_smem_bytes<16>();
    case 32: return max_smem_bytes<32>();
    case 64: return max_smem_bytes<64>();
    default: return max_smem_bytes<128>();
  }
}

}  // namespace

SkinnyGemmPlan skinny_gemm_plan(int tokens, int in, int out) {
  return plan_for(tokens, in, out, multiprocessor_count());
}

bool skinny_gemm(DType dtype, const void* w, const void* x, const float* bias, void* y, int tokens, int in, int out,
                 const SkinnyGemmPlan& plan, cudaStream_t stream) {
  if (dtype != DType::kBF16 && dtype != DType::kF16) return false;
  if (!problem_supported(tokens, in, out)) return false;
  if (w == nullptr || x == nullptr || y == nullptr) return false;
  if (reinterpret_cast<uintptr_t>(w) % 16 != 0 || reinterpret_cast<uintptr_t>(x) % 16 != 0 ||
      reinterpret_cast<uintptr_t>(y) % 2 != 0)
    return false;
  Shape s;
  if (!resolve(plan, tokens, in, out, s)) return false;
  if (max_smem_bytes(s.token_tile) + 1024 > max_optin_smem_bytes()) return false;  // + static shared memory

  SkinnyArgs args{};
  args.w = w;
  args.x = x;
  args.bias = bias;
  args.y = y;
  args.tokens = tokens;
  args.in = in;
  args.out = out;
  args.kw_log2 = s.kw_log2;
  args.splits = s.splits;
  args.iters_per_split = s.iters_per_split;
  args.k_iters = s.k_iters;
  const int blocks = s.tiles * s.splits;
  if (s.splits > 1) {
    const size_t partial_bytes = size_t(blocks) * (256 >> s.kw_log2) * s.token_tile * sizeof(float);
    SplitWorkspace::get(partial_bytes, stream, &args.partials, &args.counters);
  }
  if (dtype == DType::kBF16) {
    launch_token_tile<bf16_t>(s.token_tile, args, blocks, stream);
  } else {
    launch_token_tile<f16_t>(s.token_tile, args, blocks, stream);
  }
  return true;
}

bool skinny_gemm(DType dtype, const void* w, const void* x, const float* bias, void* y, int tokens, int in, int out,
                 cudaStream_t stream) {
  if (dtype != DType::kBF16 && dtype != DType::kF16) return false;
  if (!problem_supported(tokens, in, out)) return false;
  const SkinnyGemmPlan plan = skinny_gemm_plan(tokens, in, out);
  if (plan.token_tile == 0) return false;
  return skinny_gemm(dtype, w, x, bias, y, tokens, in, out, plan, stream);
}

}  // namespace turbolm::cuda
