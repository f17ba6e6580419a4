// The decode GEMVs (1-2 tokens, bf16 / f16): linear.cu's classic kernel, exposed with its tuning knob for the
// benchmarks, and the Hopper bulk-copy kernel of linear_gemv_bulk.cu. Host-only declarations.
#pragma once

#include <cuda_runtime_api.h>

#include "core/dtype.h"
#include "core/tensor.h"
#include "ops/linear.h"

namespace turbolm::cuda {

// 16-byte loads each lane keeps in flight (4 or 8): fewer loads -> fewer registers, more resident blocks and
// shorter rows per warp. linear() uses kGemvDefaultLoads.
// 4 measured 1-5% faster than 8 on every Qwen3-8B projection on H100 (bench/results/cuda_h100.md).
inline constexpr int kGemvDefaultLoads = 4;

// y[tokens, out] = x[tokens, in] . W[out, in]^T (+ bias); tokens 1..2, in % 8 == 0, contiguous device arrays.
void gemv_with_loads(DType dtype, const void* w, const void* x, const float* bias, void* y, int tokens, int in, int out,
                     int loads, cudaStream_t stream);

// The sm_90 bulk-copy GEMV (linear_gemv_bulk.cu): y[tokens, out] = x'[tokens, in] . W[out, in]^T (+ bias), where
// x' is x itself or what the step before the projection would have written (a prologue), and the result is
// stored or added to the residual stream (an epilogue). These fusions serve decode steps (ops/fused_linear.h):
// one kernel instead of norm + GEMV or GEMV + residual add or silu_mul + GEMV + residual add, with the same
// roundings as the separate kernels.
enum class GemvPrologue {
  kNone,     // x' = x: [tokens, in]
  kRmsNorm,  // x' = rms_norm(x, gamma, eps): x [tokens, in], gamma [in] in `dtype`
  kSiluMul,  // x' = silu(gate) * up: x [tokens, 2 * in] = gate | up
};
enum class GemvEpilogue {
  kStore,        // y [tokens, out] in y_dtype (`dtype`, or f32 for logits)
  kAddResidual,  // residual [tokens, out] in `dtype` += the product rounded to `dtype`
};
struct BulkGemvArgs {
  DType dtype = DType::kBF16;  // weights, x, gamma and residual: bf16 or f16
  const void* w = nullptr;
  const void* x = nullptr;
  const float* bias = nullptr;  // [out] f32 or nullptr
  int tokens = 1, in = 0, out = 0;
  GemvPrologue prologue = GemvPrologue::kNone;
  const void* gamma = nullptr;
  float eps = 0.0f;
  GemvEpilogue epilogue = GemvEpilogue::kStore;
  void* y = nullptr;
  DType y_dtype = DType::kBF16;
  void* residual = nullptr;
  // The weight the step's next projection streams, [next_out, next_in] in `dtype` (a hint, or nullptr): once
  // a block has requested all of its own rows, its producer keeps the stream going into L2 with the first rows the
  // next bulk GEMV's block of the same index will read, one ring slot's bytes per slot freed, 64 KB in all, so
  // that HBM does not idle while one projection's blocks drain and the next one's start.
  const void* next_w = nullptr;
  int next_in = 0, next_out = 0;
};

// Returns false, doing nothing, where the kernel does not apply: before sm_90, tokens > 2, in % 8 != 0, x too
// long to leave two 8 KB ring slots in shared memory (bf16: in > 107,000 at one token, 53,000 at two), a
// combination it is not built for (silu prologue with a stored result, norm prologue with a residual add),
// pointers not 16-byte aligned, or TURBOLM_CUDA_GEMV=classic.
bool gemv_bulk(const BulkGemvArgs& args, cudaStream_t stream);

// Fills the operands of x [T, in] . W^T (+ bias) into `args` (dtype, w, x, bias, tokens, in, out; prologue,
// epilogue and outputs are the caller's). False where the kernel cannot take the weight or bias as they are:
// a weight not in x's dtype or not contiguous on the device, a bias that is not f32.
bool bulk_gemv_operands(const Tensor& x, const LinearWeight& w, BulkGemvArgs& args);

}  // namespace turbolm::cuda
