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

void linear_portable(ThreadPool& pool, const GemmArgs& args);
void linear_avx2(ThreadPool& pool, const GemmArgs& args);
// use_bf16_dot: bf16 weights and T > kMaxGemvTokens go through vdpbf16ps with activations rounded to bf16.
void linear_avx512(ThreadPool& pool, const GemmArgs& args, bool use_bf16_dot);

}  // namespace turbolm::cpu::detail
