// Skinny tensor-core GEMM for decode batches (1 <= T <= 128 tokens, meant for 9..128):
//   y[T, out] = x[T, in] . W[out, in]^T (+ f32 bias[out]),  bf16 / f16, f32 accumulation.
// Bandwidth-bound on the weights: each weight byte is read once (cp.async multi-stage pipeline, evict-first),
// activations come from L2. Host-only declarations (no device code), so plain C++ files may include it.
#pragma once

#include <cuda_runtime_api.h>

#include "core/dtype.h"

namespace turbolm::cuda {

// Runs y = x . W^T (+ bias) on `stream` and returns true, or returns false and does nothing when the problem is
// not supported: dtype other than bf16 / f16, tokens outside [1, 128], in not a positive multiple of 8,
// out < 1, w or x not 16-byte aligned, a null pointer (bias may be null), or a device with less than ~193 KB
// of opt-in shared memory per block (A100: 163 KB; H100: 227 KB). Any `out` is supported (partial
// row tiles). w, x, y are contiguous row-major device arrays ([out, in], [tokens, in], [tokens, out]); rows
// >= tokens of y are never written. No host synchronisation, no allocation after the first calls (see
// linear_skinny.cu: split-K workspace), capturable into a CUDA graph once a call of the same or a larger
// shape has run outside capture. Calls on one device must come from one stream at a time (shared split-K
// counters), like cuBLASLt's workspace in linear.cu.
bool skinny_gemm(DType dtype, const void* w, const void* x, const float* bias, void* y, int tokens, int in, int out,
                 cudaStream_t stream);

// How skinny_gemm tiles a problem (exposed for tests and benchmarks; skinny_gemm picks one by a cost model).
struct SkinnyGemmPlan {
  int token_tile = 0;  // 16, 32, 64 or 128 (>= tokens); 0: unsupported problem
  int k_warps = 1;     // warps sharing a row tile along k (block tile = 256 / k_warps rows x 64 * k_warps k)
  int splits = 1;      // blocks sharing a row tile along k (f32 partials, reduced by the last block)
};

// The plan skinny_gemm uses for this shape on the current device (token_tile 0 when unsupported).
SkinnyGemmPlan skinny_gemm_plan(int tokens, int in, int out);

// skinny_gemm with an explicit plan. Returns false (doing nothing) when the problem or the plan is not valid:
// token_tile in {16, 32, 64, 128} and >= tokens, k_warps a power of two with token_tile * k_warps <= 128
// (<= 256 for token_tile 128), splits >= 1 (clamped to the number of k steps).
bool skinny_gemm(DType dtype, const void* w, const void* x, const float* bias, void* y, int tokens, int in, int out,
                 const SkinnyGemmPlan& plan, cudaStream_t stream);

}  // namespace turbolm::cuda
