// Decode projections fused with the element-wise step beside them. On CUDA (sm_90, bf16 / f16, at most
// kMaxFusedLinearTokens tokens) each op is one kernel: the bulk-copy GEMV with a prologue (rms_norm, silu_mul) or
// an epilogue (residual add), so that a decode layer is six kernels instead of nine. Elsewhere, and for shapes
// that kernel does not take, the ops run the separate ops. Both give the separate ops' roundings: the fused
// kernel's norm statistics follow norm.cu's summation order, and the residual add rounds the product to the
// residual's dtype first, as adding a stored delta does.
//
// `next` (optional) names the weight of the projection the step runs right after this one. It changes no result:
// the CUDA kernel keeps HBM streaming into L2 with the first rows of `next` while its own blocks drain, so that
// the next projection starts from L2 instead of an idle memory system.
#pragma once

#include <cstdint>

#include "core/tensor.h"
#include "ops/exec_context.h"
#include "ops/linear.h"

namespace turbolm {

// The token count up to which the fused kernels apply (the model takes these ops for such steps).
inline constexpr int64_t kMaxFusedLinearTokens = 2;

// y = linear(rms_norm(x, gamma, eps), w). x: [T, in]; gamma: [in]; y: [T, out] in x's dtype, or f32.
void rms_norm_linear(const ExecContext& ctx, const Tensor& x, const Tensor& gamma, float eps, const LinearWeight& w,
                     Tensor& y, const LinearWeight* next = nullptr);

// residual += linear(x, w). x: [T, in]; residual: [T, out] in x's dtype.
void linear_add(const ExecContext& ctx, const Tensor& x, const LinearWeight& w, Tensor& residual,
                const LinearWeight* next = nullptr);

// residual += linear(silu_mul(gate_up), w). gate_up: [T, 2 * in] (gate | up); residual: [T, out].
void silu_mul_linear_add(const ExecContext& ctx, const Tensor& gate_up, const LinearWeight& w, Tensor& residual,
                         const LinearWeight* next = nullptr);

}  // namespace turbolm
