// The decode GEMV of linear.cu (1-2 tokens, bf16 / f16), exposed with its tuning knob for the benchmarks.
// Host-only declarations.
#pragma once

#include <cuda_runtime_api.h>

#include "core/dtype.h"

namespace turbolm::cuda {

// 16-byte loads each lane keeps in flight (4 or 8): fewer loads -> fewer registers, more resident blocks and
// shorter rows per warp. linear() uses kGemvDefaultLoads.
inline constexpr int kGemvDefaultLoads = 8;
// pipelined: a fixed grid whose warps load their next rows while computing the current ones (rows up to
// 8 * 256 * loads elements; longer ones use the short-lived blocks). linear() uses kGemvDefaultPipelined.
inline constexpr bool kGemvDefaultPipelined = false;

// y[tokens, out] = x[tokens, in] . W[out, in]^T (+ bias); tokens 1..2, in % 8 == 0, contiguous device arrays.
void gemv_with_loads(DType dtype, const void* w, const void* x, const float* bias, void* y, int tokens, int in,
                     int out, int loads, bool pipelined, cudaStream_t stream);

}  // namespace turbolm::cuda
