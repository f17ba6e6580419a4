// Internal interface between linear.cc (dispatch) and the per-ISA GEMV/GEMM files.
#pragma once

#include <cstdint>

#include "core/dtype.h"
#include "core/thread_pool.h"

namespace turbolm::cpu::detail {

// y[T, N] = x[T, K] . W[N, K]^T (+ bias[N]); x, W, y contiguous row-major, f32 accumulation.
struct GemmArgs {
  const float* x = nullptr;  // [T, K]
  const void* w = nullptr;   // [N, K], dtype wtype (f32 | bf16 | f16)
  DType wtype = DType::kF32;
  const float* bias = nullptr;  // [N] or nullptr
  float* y = nullptr;           // [T, N]
  int64_t T = 0, K = 0, N = 0;
};

// Up to this many tokens a GEMV-style kernel (each weight row loaded once, applied to every token, exact f32)
// beats packing activations for the GEMM micro-kernels.
constexpr int64_t kMaxGemvTokens = 4;

// Output rows per parallel chunk of the GEMV kernels: at least 16, and enough that a chunk does ~64K
// multiply-adds, so tiny layers run on the calling thread instead of paying a thread hand-off per op.
inline int64_t gemv_grain(const GemmArgs& a) {
  const int64_t work_per_row = a.K * a.T > 0 ? a.K * a.T : 1;
  const int64_t rows = ((int64_t{1} << 16) / work_per_row + 3) / 4 * 4;
  return rows > 16 ? rows : 16;
}

// Output rows per chunk that the GEMV kernels' threads claim one at a time (ThreadPool::parallel_for_dynamic):
// ~1 MB of weights (long sequential runs for the hardware prefetchers), but at least 4 chunks per thread so a
// thread slowed by another process hands its share over, and never below gemv_grain; a multiple of 4 rows.
// On the 2-core VM of bench/results (bf16 Qwen3-0.6B decode, other work on the machine) 1 MB chunks beat fixed
// halves in every round (e.g. 24.2 against 12.9 tok/s) and 256-512 KB chunks.
inline int64_t gemv_chunk_rows(const GemmArgs& a, int64_t weight_bytes, int threads) {
  const int64_t row_bytes = a.K * weight_bytes > 0 ? a.K * weight_bytes : 1;
  int64_t rows = (int64_t{1} << 20) / row_bytes;
  const int64_t per_thread_quarter = a.N / (4 * int64_t{threads > 0 ? threads : 1});
  if (per_thread_quarter < rows) rows = per_thread_quarter;
  rows = (rows + 3) / 4 * 4;
  const int64_t grain = gemv_grain(a);
  return rows > grain ? rows : grain;
}

void linear_portable(ThreadPool& pool, const GemmArgs& args);
void linear_avx2(ThreadPool& pool, const GemmArgs& args);
// use_bf16_dot: bf16 weights and T > kMaxGemvTokens go through vdpbf16ps with activations rounded to bf16.
void linear_avx512(ThreadPool& pool, const GemmArgs& args, bool use_bf16_dot);

}  // namespace turbolm::cpu::detail
