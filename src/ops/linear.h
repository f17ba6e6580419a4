// Dense layers. Weights keep the dtype they were stored in; activations are f32 on CPU.
#pragma once

#include "core/tensor.h"
#include "ops/exec_context.h"

namespace turbolm {

// A linear layer's parameters. Dense now; quantized formats (int4-grouped + scales/zeros, int8, fp8) add fields.
struct LinearWeight {
  Tensor weight;  // [out, in], f32 | bf16 | f16
  Tensor bias;    // [out] f32, or undefined
  int64_t out_features() const { return weight.dim(0); }
  int64_t in_features() const { return weight.dim(1); }
};

// y[T, out] = x[T, in] . W[out, in]^T (+ bias), accumulated in f32. y has x's dtype, or is f32 where x is bf16 /
// f16 (the lm_head's logits, which sampling reads in f32). y must not alias x. T == 1 is the memory-bound GEMV of
// decoding; T > 1 the compute-bound GEMM of prefill.
void linear(const ExecContext& ctx, const Tensor& x, const LinearWeight& w, Tensor& y);

}  // namespace turbolm
