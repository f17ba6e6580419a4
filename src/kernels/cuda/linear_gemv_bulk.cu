// The decode GEMV for Hopper (sm_90): y[T, out] = x[T, in] . W[out, in]^T (+ bias) for T <= 2, with W streamed
// through a shared-memory ring that bulk asynchronous copies (cp.async.bulk, the TMA engine) fill.
//
// Why: at one token a projection is a single pass over its weights, so its time is bytes / bandwidth plus
// whatever part of the kernel's life the memory system is idle. The classic GEMV (linear.cu) keeps only one batch
// of register loads in flight per warp and starts each projection from an empty pipe; on the 33-100 MB
// projections of an 8B model that idle part was a quarter of the kernel. Here each block owns a contiguous run
// of rows (one block per SM, ~192 KB of copies in flight) and, under programmatic dependent launch, its copies
// start before the kernel ahead has finished: only the consumers wait for x. A block that becomes resident while
// the previous projection's blocks still run on other SMs fills its ring meanwhile, so the DRAM stream does not
// drain between projections.
//
// Block: 8 consumer warps + 1 producer warp. The block's rows are cut into ring units of ~8 KB: a few whole
// rows where rows are short, one piece of a row where rows are longer (the down projection's 24 KB rows: three
// pieces). Groups of rows (a unit's rows, or one long row) are dealt to the consumer warps in turn (group g to warp
// g % W, W = 8, fewer when the ring holds fewer than 8 units) and a warp takes its groups' units in order, piece
// by piece, through its own slots of the ring (a warp never waits on a slot whose previous unit it has not consumed
// itself, so mbarrier phases cannot be skipped). Pieces keep every warp at several units in flight while it
// computes one; whole 24 KB rows left one slot a warp, and the down projection ran at 2.80 TB/s against 3.0 for
// the 8 KB rows (H100, Qwen3-8B bs1 with pieces: 183.6-183.7 tok/s against 182.6-182.7 with whole rows). The producer's lane 0 copies the units into the ring round by round (full[slot] counts the bytes
// in; empty[slot] the consuming warp out). x (each token) is staged in shared memory once, through the prologue. A
// consumer warp computes its units alone (lanes over 16-byte column vectors; a piece is a multiple of 32 vectors,
// so each lane sums the same columns in the same order as over the whole row, f32 accumulation as the classic
// kernel and the CPU; one warp reduction a row) and applies the epilogue. No block-wide barrier after the
// prologue, no atomics: deterministic.
//
// L2 warm-up (BulkGemvArgs::next_w): after its last unit, the producer goes on through the ring's slots as the
// consumers free them, but instead of a unit it prefetches into L2 the next unit-sized piece of the rows the next
// projection's block of the same index reads first (kWarmBytes in all). HBM then keeps streaming at the same pace
// while this block drains and the next kernel's block, which cannot share the SM's shared memory, starts.
#include <algorithm>

#include "kernels/cuda/common.cuh"
#include "kernels/cuda/linear_gemv.cuh"

namespace turbolm::cuda {
namespace {

constexpr int kConsumerWarps = 8;
constexpr int kConsumerThreads = kConsumerWarps * 32;
constexpr int kThreads = kConsumerThreads + 32;
constexpr size_t kUnitTargetBytes = 8 << 10;  // a ring unit: whole rows up to this size, else a row's piece
constexpr int kVecElems = 8;                  // elements of a 16-byte vector (2-byte dtypes only)
constexpr size_t kRingBytes = 192 << 10;      // copies in flight per SM
constexpr int kMaxSlots = 64;
constexpr int kMinSlots = 2;
constexpr size_t kMaxSharedBytes = 226 << 10;  // sm_90 allows 227 KB a block: 1 KB left for static shared memory
// L2 warm-up bytes per block (BulkGemvArgs::next_w), at most one ring. H100, Qwen3-8B bs1: 64 KB +0.7-1.0% over
// none (two runs); 32 KB +0.1%, 96 KB -0.2%, 192 KB -4%: a longer warm-up takes bandwidth from the draining
// blocks themselves. Warming o during attention (all of it, into L2, at once) lost 0.7-5%.
constexpr int64_t kWarmBytes = 64 << 10;

#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
__device__ __forceinline__ uint32_t shared_address(const void* p) {
  return static_cast<uint32_t>(__cvta_generic_to_shared(p));
}
__device__ __forceinline__ void barrier_init(uint64_t* bar, int count) {
  asm volatile("mbarrier.init.shared::cta.b64 [%0], %1;" ::"r"(shared_address(bar)), "r"(count) : "memory");
}
// Waits until the phase of parity `parity` of *bar has completed.
__device__ __forceinline__ void barrier_wait(uint64_t* bar, uint32_t parity) {
  uint32_t done = 0;
  do {
    asm volatile("{ .reg .pred p; mbarrier.try_wait.parity.shared::cta.b64 p, [%1], %2; selp.u32 %0, 1, 0, p; }"
                 : "=r"(done)
                 : "r"(shared_address(bar)), "r"(parity)
                 : "memory");
  } while (done == 0);
}
__device__ __forceinline__ void barrier_arrive(uint64_t* bar) {
  asm volatile("mbarrier.arrive.shared::cta.b64 _, [%0];" ::"r"(shared_address(bar)) : "memory");
}
// One bulk copy of `bytes` (a multiple of 16) from global to shared memory, counted on *bar, which expects them.
// Weights are read once: evict-first keeps them from pushing activations and the KV cache out of L2.
__device__ __forceinline__ void bulk_load(void* dst, const void* src, uint32_t bytes, uint64_t* bar, uint64_t policy) {
  asm volatile("mbarrier.arrive.expect_tx.shared::cta.b64 _, [%0], %1;" ::"r"(shared_address(bar)), "r"(bytes)
               : "memory");
  asm volatile(
      "cp.async.bulk.shared::cluster.global.mbarrier::complete_tx::bytes.L2::cache_hint [%0], [%1], %2, [%3], %4;" ::
          "r"(shared_address(dst)),
      "l"(src), "r"(bytes), "r"(shared_address(bar)), "l"(policy)
      : "memory");
}
// Starts moving [src, src + bytes) into L2 (bytes a multiple of 16, src 16-byte aligned); nothing waits for it.
__device__ __forceinline__ void prefetch_l2(const void* src, uint32_t bytes) {
  asm volatile("cp.async.bulk.prefetch.L2.global [%0], %1;" ::"l"(src), "r"(bytes) : "memory");
}
#endif

// First row of block b of a bulk GEMV over `out` rows on `blocks` blocks: each block owns a contiguous run.
__host__ __device__ __forceinline__ int block_row_begin(int b, int out, int blocks) {
  return static_cast<int>(int64_t{b} * out / blocks);
}

// Barrier of the consumer warps only (the producer warp has left).
__device__ __forceinline__ void consumers_sync() { asm volatile("bar.sync 1, %0;" ::"n"(kConsumerThreads) : "memory"); }

template <typename T, typename OutT>
struct Params {
  const T* w;
  const T* x;
  const T* gamma;
  const float* bias;
  OutT* y;
  T* residual;
  float eps;
  int tokens, in, out;
  // A unit: unit_rows whole rows (pieces == 1), or one of the `pieces` pieces of a row (unit_rows == 1) of
  // piece_vecs vectors each, the last one shorter; piece_vecs is a multiple of 32 (one vector a lane).
  int unit_rows, piece_vecs, pieces;
  int warps, slots_per_warp;  // consumer warps with units; ring slots per such warp
  // The L2 warm-up: next_w's rows of next_row_bytes, block b of next_blocks owning block_row_begin(b, next_out,
  // next_blocks) onwards; warm_units pieces of one unit's bytes each (0: none).
  const unsigned char* next_w;
  int64_t next_row_bytes;
  int next_out, next_blocks, warm_units;
};

// x' into shared memory, xs [NT][in] (zeros past `tokens`), by the 256 consumer threads, after the kernel ahead.
// The norm's statistics follow norm.cu's order (thread t sums vectors t, t + 256, ...; then warp sums and a sum of
// the warps' by shuffles), so the fused result equals rms_norm + GEMV.
template <GemvPrologue P, int NT, typename T, typename OutT>
__device__ __forceinline__ void stage_x(const Params<T, OutT>& p, T* xs) {
  const int tid = threadIdx.x, in_vecs = p.in / 8;
  const int64_t x_row = P == GemvPrologue::kSiluMul ? 2 * int64_t{p.in} : p.in;
  float sum_sq[NT] = {};
  for (int t = 0; t < NT; ++t) {
    for (int i = tid; i < in_vecs; i += kConsumerThreads) {
      Vec<T> v;
      v.raw = make_uint4(0, 0, 0, 0);
      if (t < p.tokens) {
        const T* src = p.x + t * x_row + i * 8;
        if constexpr (P == GemvPrologue::kSiluMul) {
          Vec<T> g, u;
          g.load_global(src);
          u.load_global(src + p.in);
#pragma unroll
          for (int e = 0; e < 8; ++e) {
            const float gv = to_float(g.v[e]);
            v.v[e] = from_float<T>(gv / (1.0f + __expf(-gv)) * to_float(u.v[e]));
          }
        } else {
          v.load_global(src);
        }
      }
      if constexpr (P == GemvPrologue::kRmsNorm) {
#pragma unroll
        for (int e = 0; e < 8; ++e) sum_sq[t] += to_float(v.v[e]) * to_float(v.v[e]);
      }
      v.store(xs + int64_t{t} * p.in + i * 8);
    }
  }
  if constexpr (P == GemvPrologue::kRmsNorm) {
    __shared__ float warp_sums[kConsumerWarps][NT];
    const int lane = tid & 31, warp = tid >> 5;
#pragma unroll
    for (int t = 0; t < NT; ++t) {
      const float s = warp_sum(sum_sq[t]);
      if (lane == 0) warp_sums[warp][t] = s;
    }
    consumers_sync();
#pragma unroll
    for (int t = 0; t < NT; ++t) {
      const float total = warp_sum(lane < kConsumerWarps ? warp_sums[lane][t] : 0.0f);
      const float inv_rms = rsqrtf(total / static_cast<float>(p.in) + p.eps);
      for (int i = tid; i < in_vecs; i += kConsumerThreads) {  // this thread's own vectors: no barrier needed
        Vec<T> v, g;
        v.load(xs + int64_t{t} * p.in + i * 8);
        g.load_global(p.gamma + i * 8);
#pragma unroll
        for (int e = 0; e < 8; ++e) v.v[e] = from_float<T>(to_float(v.v[e]) * inv_rms * to_float(g.v[e]));
        v.store(xs + int64_t{t} * p.in + i * 8);
      }
    }
  }
  consumers_sync();
}

// Shared memory: ring [warps * slots_per_warp][slot elements] T | xs [NT][in] T | full[slots], empty[slots] u64.
template <typename T, typename OutT, int NT, GemvPrologue P, GemvEpilogue E>
__global__ void __launch_bounds__(kThreads, 1) gemv_bulk_kernel(const Params<T, OutT> p) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  extern __shared__ __align__(128) unsigned char shared[];
  const int in = p.in, in_vecs = in / kVecElems, spw = p.slots_per_warp, slots = p.warps * spw;
  const int64_t slot_elems = int64_t{p.unit_rows} * p.piece_vecs * kVecElems;
  T* ring = reinterpret_cast<T*>(shared);
  T* xs = ring + slots * slot_elems;
  uint64_t* full = reinterpret_cast<uint64_t*>(xs + int64_t{NT} * in);
  uint64_t* empty = full + slots;
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  const int row_begin = block_row_begin(blockIdx.x, p.out, gridDim.x);
  const int row_end = block_row_begin(blockIdx.x + 1, p.out, gridDim.x);
  const int groups = (row_end - row_begin + p.unit_rows - 1) / p.unit_rows;
  // Consumer warp w owns groups w, w + W, ...: units_of(w) units (non-increasing in w). Its k-th unit is piece
  // k % pieces of group (k / pieces) * W + w, in slot w * spw + k % spw, phase k / spw.
  auto units_of = [&](int w) { return w < groups ? ((groups - 1 - w) / p.warps + 1) * p.pieces : 0; };
  auto slot_of = [&](int w, int k) { return w * spw + k % spw; };

  // The next kernel may become resident now: it only waits (or streams its own weights) until this one is done.
  allow_dependent_launch();
  if (threadIdx.x == 0) {
    for (int s = 0; s < slots; ++s) {
      barrier_init(&full[s], 1);
      barrier_init(&empty[s], 1);
    }
    asm volatile("fence.mbarrier_init.release.cluster;" ::: "memory");
  }
  __syncthreads();

  if (warp == kConsumerWarps) {  // producer: weights do not depend on the kernel ahead, so no dependency wait
    if (lane == 0) {
      uint64_t policy = 0;
      asm volatile("createpolicy.fractional.L2::evict_first.b64 %0, 1.0;" : "=l"(policy));
      // Round k: every warp's k-th unit, warp by warp, so that all warps' first units arrive first. Indices
      // advance by additions only: this one thread's issue rate bounds the kernel (a few integer divisions a
      // unit cost 12% of the bandwidth at 8 KB units on an H100).
      const int rounds = units_of(0), full_rounds = groups / p.warps * p.pieces, rem = groups % p.warps;
      const int64_t warp_step = int64_t{p.unit_rows} * in;           // elements between two warps' units of a round
      int piece = 0, slot_in = 0, phase = 0, group_row = row_begin;  // group_row: warp 0's first row this round
      for (int k = 0; k < rounds; ++k) {
        const int v0 = piece * p.piece_vecs;
        const uint32_t unit_bytes = (p.pieces == 1 ? p.unit_rows * in_vecs : min(p.piece_vecs, in_vecs - v0)) * 16;
        const T* src = p.w + int64_t{group_row} * in + v0 * kVecElems;
        const int active = k < full_rounds ? p.warps : rem;
        for (int w = 0, s = slot_in, r0 = group_row; w < active; ++w, s += spw, src += warp_step, r0 += p.unit_rows) {
          if (phase > 0) barrier_wait(&empty[s], (phase - 1) & 1);
          const uint32_t bytes = r0 + p.unit_rows <= row_end ? unit_bytes : (row_end - r0) * in_vecs * 16;
          bulk_load(ring + s * slot_elems, src, bytes, &full[s], policy);
        }
        if (++piece == p.pieces) {
          piece = 0;
          group_row += p.warps * p.unit_rows;
        }
        if (++slot_in == spw) {
          slot_in = 0;
          ++phase;
        }
      }
      // The warm-up: this block's counterpart in the next GEMV, its first warm_bytes, one slot's bytes a piece.
      // Piece i of a round waits for the latest unit of the slot it stands for (the slot's unit of round
      // units_of(w) + i - spw, if any), which paces the prefetches with the consumers.
      if (blockIdx.x < p.next_blocks && p.warm_units > 0) {
        const int64_t unit_bytes = slot_elems * int64_t{sizeof(T)};
        const int first = block_row_begin(blockIdx.x, p.next_out, p.next_blocks);
        const int64_t warm_bytes =
            min(int64_t{block_row_begin(blockIdx.x + 1, p.next_out, p.next_blocks) - first} * p.next_row_bytes,
                p.warm_units * unit_bytes);
        const unsigned char* warm_src = p.next_w + first * p.next_row_bytes;
        int64_t off = 0;
        for (int i = 0; i < spw; ++i) {
          for (int w = 0; w < p.warps && off < warm_bytes; ++w, off += unit_bytes) {
            const int k = units_of(w) + i, s = slot_of(w, k), phase = k / spw;
            if (phase > 0) barrier_wait(&empty[s], (phase - 1) & 1);
            prefetch_l2(warm_src + off, static_cast<uint32_t>(min(unit_bytes, warm_bytes - off)));
          }
        }
      }
    }
    return;
  }

  grid_dependency_wait();  // x (and the residual) are the kernels' ahead
  stage_x<P, NT>(p, xs);
  if (warp >= p.warps) return;
  const int units = units_of(warp);
  int piece = 0, slot_in = 0, phase = 0, r0 = row_begin + warp * p.unit_rows;  // advanced by additions only
  float acc[NT];
  for (int k = 0; k < units; ++k) {
    const int s = warp * spw + slot_in;
    barrier_wait(&full[s], phase & 1);
    const int rows = min(p.unit_rows, row_end - r0);
    const int v0 = piece * p.piece_vecs, vecs = min(p.piece_vecs, in_vecs - v0);
    for (int r = 0; r < rows; ++r) {
      const T* w_row = ring + s * slot_elems + int64_t{r} * in;  // pieces: the slot holds the piece alone
      if (piece == 0) {
#pragma unroll
        for (int t = 0; t < NT; ++t) acc[t] = 0.0f;
      }
#pragma unroll 4
      for (int v = lane; v < vecs; v += 32) {
        Vec<T> wv;
        wv.load(w_row + v * kVecElems);
#pragma unroll
        for (int t = 0; t < NT; ++t) {
          Vec<T> xv;
          xv.load(xs + int64_t{t} * in + (v0 + v) * kVecElems);
          acc[t] += dot8(wv, xv);
        }
      }
      if (piece != p.pieces - 1) continue;
#pragma unroll
      for (int t = 0; t < NT; ++t) {
        const float sum = warp_sum(acc[t]);
        if (lane != 0 || t >= p.tokens) continue;
        const int row = r0 + r;
        const float value = sum + (p.bias != nullptr ? p.bias[row] : 0.0f);
        if constexpr (E == GemvEpilogue::kAddResidual) {  // as add_rms_norm adds a stored delta
          T* res = p.residual + int64_t{t} * p.out + row;
          *res = from_float<T>(to_float(*res) + to_float(from_float<T>(value)));
        } else {
          p.y[int64_t{t} * p.out + row] = from_float<OutT>(value);
        }
      }
    }
    __syncwarp();
    if (lane == 0) barrier_arrive(&empty[s]);  // slot s may be refilled
    if (++slot_in == spw) {
      slot_in = 0;
      ++phase;
    }
    if (++piece == p.pieces) {
      piece = 0;
      r0 += p.warps * p.unit_rows;
    }
  }
#endif
}

struct BulkPlan {
  int unit_rows = 0, piece_vecs = 0, pieces = 0, warps = 0, slots_per_warp = 0;
  size_t shared_bytes = 0;
};

// The ring units for rows of `in` elements (a multiple of 8) and the ring beside `tokens` rows of x;
// warps == 0: x leaves no room for two slots.
BulkPlan plan_for(int in, int tokens, size_t elem_bytes) {
  const int in_vecs = in / kVecElems;
  const size_t row_bytes = size_t(in) * elem_bytes, x_bytes = size_t(tokens) * row_bytes;
  BulkPlan plan;
  plan.unit_rows = static_cast<int>(std::max<size_t>(1, kUnitTargetBytes / row_bytes));
  plan.pieces = static_cast<int>((row_bytes + kUnitTargetBytes - 1) / kUnitTargetBytes);
  // Equal pieces of whole 32-vector runs (the lanes' columns), the last one shorter where rows do not divide.
  plan.piece_vecs = (in_vecs + plan.pieces - 1) / plan.pieces;
  if (plan.pieces > 1) {
    plan.piece_vecs = (plan.piece_vecs + 31) / 32 * 32;
    plan.pieces = (in_vecs + plan.piece_vecs - 1) / plan.piece_vecs;
  }
  const size_t unit_bytes = size_t(plan.unit_rows) * plan.piece_vecs * 16;
  const size_t slot_bytes = unit_bytes + 2 * sizeof(uint64_t);
  if (x_bytes + kMinSlots * slot_bytes > kMaxSharedBytes) return BulkPlan{};
  const size_t slots = std::min<size_t>(
      {kMaxSlots, std::max<size_t>(kMinSlots, kRingBytes / unit_bytes), (kMaxSharedBytes - x_bytes) / slot_bytes});
  plan.warps = static_cast<int>(std::min<size_t>(kConsumerWarps, slots));
  plan.slots_per_warp = static_cast<int>(slots / plan.warps);
  plan.shared_bytes = size_t(plan.warps) * plan.slots_per_warp * slot_bytes + x_bytes;
  return plan;
}

bool aligned16(const void* p) { return reinterpret_cast<uintptr_t>(p) % 16 == 0; }

// Blocks of a bulk GEMV over `out` rows: one per SM.
int bulk_blocks(int out) { return std::min(multiprocessor_count(), out); }

template <typename T, typename OutT, int NT, GemvPrologue P, GemvEpilogue E>
void launch(const BulkGemvArgs& a, const BulkPlan& plan, cudaStream_t stream) {
  // A hint the prefetch cannot take (rows not whole 16-byte pieces, unaligned) is dropped.
  const bool warm = a.next_w != nullptr && aligned16(a.next_w) && a.next_out > 0 && a.next_in > 0 && a.next_in % 8 == 0;
  const int64_t unit_bytes = int64_t{plan.unit_rows} * plan.piece_vecs * 16;
  const int slots = plan.warps * plan.slots_per_warp;
  const int warm_units = warm ? static_cast<int>(std::min<int64_t>(slots, kWarmBytes / unit_bytes)) : 0;
  Params<T, OutT> p{static_cast<const T*>(a.w),
                    static_cast<const T*>(a.x),
                    static_cast<const T*>(a.gamma),
                    a.bias,
                    static_cast<OutT*>(a.y),
                    static_cast<T*>(a.residual),
                    a.eps,
                    a.tokens,
                    a.in,
                    a.out,
                    plan.unit_rows,
                    plan.piece_vecs,
                    plan.pieces,
                    plan.warps,
                    plan.slots_per_warp,
                    static_cast<const unsigned char*>(a.next_w),
                    int64_t{a.next_in} * static_cast<int64_t>(sizeof(T)),
                    a.next_out,
                    warm ? bulk_blocks(a.next_out) : 0,
                    warm_units};
  auto* kernel = gemv_bulk_kernel<T, OutT, NT, P, E>;
  ensure_max_dynamic_shared_memory(reinterpret_cast<const void*>(kernel), kMaxSharedBytes);
  launch_dependent(kernel, bulk_blocks(a.out), kThreads, plan.shared_bytes, stream, p);
}

template <typename T, int NT>
void launch_variant(const BulkGemvArgs& a, const BulkPlan& plan, cudaStream_t stream) {
  using P = GemvPrologue;
  using E = GemvEpilogue;
  if (a.epilogue == E::kAddResidual) {
    if (a.prologue == P::kSiluMul) return launch<T, T, NT, P::kSiluMul, E::kAddResidual>(a, plan, stream);
    return launch<T, T, NT, P::kNone, E::kAddResidual>(a, plan, stream);
  }
  const bool f32_out = a.y_dtype == DType::kF32;
  if (a.prologue == P::kRmsNorm) {
    if (f32_out) return launch<T, float, NT, P::kRmsNorm, E::kStore>(a, plan, stream);
    return launch<T, T, NT, P::kRmsNorm, E::kStore>(a, plan, stream);
  }
  if (f32_out) return launch<T, float, NT, P::kNone, E::kStore>(a, plan, stream);
  launch<T, T, NT, P::kNone, E::kStore>(a, plan, stream);
}

bool device_takes_bulk_gemv() {
  static const bool yes = hopper_feature_enabled("TURBOLM_CUDA_GEMV", "classic");
  return yes;
}

}  // namespace

bool gemv_bulk(const BulkGemvArgs& a, cudaStream_t stream) {
  using P = GemvPrologue;
  using E = GemvEpilogue;
  if (a.tokens < 1 || a.tokens > 2 || a.in <= 0 || a.in % 8 != 0 || a.out < 1) return false;
  if (a.dtype != DType::kBF16 && a.dtype != DType::kF16) return false;
  if (!aligned16(a.w) || !aligned16(a.x)) return false;
  // The combinations the kernel is instantiated for: {plain, norm} -> stored in dtype or f32; {plain, silu} ->
  // added to the residual.
  if (a.epilogue == E::kStore && (a.prologue == P::kSiluMul || (a.y_dtype != a.dtype && a.y_dtype != DType::kF32)))
    return false;
  if (a.epilogue == E::kAddResidual && a.prologue == P::kRmsNorm) return false;
  if (a.prologue == P::kRmsNorm && (a.gamma == nullptr || !aligned16(a.gamma))) return false;
  const BulkPlan plan = plan_for(a.in, a.tokens, dtype_bytes(a.dtype, 1));
  if (plan.warps == 0 || !device_takes_bulk_gemv()) return false;
  dispatch_half(a.dtype, "linear", [&]<typename T>(T) {
    if (a.tokens == 1) return launch_variant<T, 1>(a, plan, stream);
    launch_variant<T, 2>(a, plan, stream);
  });
  return true;
}

bool bulk_gemv_operands(const Tensor& x, const LinearWeight& w, BulkGemvArgs& args) {
  if (w.weight.dtype() != x.dtype() || !w.weight.device().is_cuda() || !w.weight.is_contiguous()) return false;
  if (w.bias.defined() && w.bias.dtype() != DType::kF32) return false;
  args.dtype = x.dtype();
  args.w = w.weight.data();
  args.x = x.data();
  args.bias = w.bias.defined() ? static_cast<const float*>(w.bias.data()) : nullptr;
  args.tokens = static_cast<int>(x.numel() / x.dim(-1));
  args.in = static_cast<int>(w.in_features());
  args.out = static_cast<int>(w.out_features());
  return true;
}

}  // namespace turbolm::cuda
