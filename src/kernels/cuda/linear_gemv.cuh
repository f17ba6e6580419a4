// The decode GEMV of linear.cu (1-2 tokens, bf16 / f16), exposed with its tuning knob for the benchmarks.
// Host-only declarations.
#pragma once

#include <cuda_runtime_api.h>

#include "core/dtype.h"

namespace turbolm::cuda {

// 16-byte loads each lane keeps in flight (4 or 8): fewer loads -> fewer registers, more resident blocks and
// shorter rows per warp. linear() uses kGemvDefaultLoads.
// 4 measured 1-5% faster than 8 on every Qwen3-8B projection on H100 (bench/results/cuda_h100.md).
inline constexpr int kGemvDefaultLoads = 4;

// y[tokens, out] = x[tokens, in] . W[out, in]^T (+ bias); tokens 1..2, in % 8 == 0, contiguous device arrays.
void gemv_with_loads(DType dtype, const void* w, const void* x, const float* bias, void* y, int tokens, int in, int out,
                     int loads, cudaStream_t stream);

}  // namespace turbolm::cuda
