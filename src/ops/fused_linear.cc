#include "ops/fused_linear.h"

#include "ops/dispatch.h"
#include "ops/elementwise.h"
#include "ops/norm.h"

namespace turbolm {
namespace {

// What every fused op needs beyond what linear() checks of the projection it runs: `x` and `second` (the
// residual or y) on the op's device and contiguous, [T, in_cols] and [T, out] with T rows each.
void check_operands(std::string_view op, const ExecContext& ctx, const Tensor& x, int64_t in_cols,
                    const LinearWeight& w, const Tensor& second, std::string_view second_name) {
  using namespace ops_detail;
  check_device(op, ctx, x, "x");
  check_device(op, ctx, second, second_name);
  check_contiguous(op, x, "x");
  check_contiguous(op, second, second_name);
  check_float(op, x, "x");
  check_device(op, ctx, w.weight, "weight");
  TLM_CHECK_ARG(w.weight.rank() == 2) << op << ": weight must be [out, in], got " << w.weight.to_string();
  TLM_CHECK_ARG(x.rank() == 2 && x.dim(1) == in_cols)
      << op << ": x must be [T, " << in_cols << "], got " << x.to_string();
  check_shape(op, second, {x.dim(0), w.out_features()}, second_name);
}

}  // namespace

void rms_norm_linear(const ExecContext& ctx, const Tensor& x, const Tensor& gamma, float eps, const LinearWeight& w,
                     Tensor& y, const LinearWeight* next) {
  check_operands("rms_norm_linear", ctx, x, w.in_features(), w, y, "y");
  ops_detail::check_device("rms_norm_linear", ctx, gamma, "gamma");
  ops_detail::check_shape("rms_norm_linear", gamma, {w.in_features()}, "gamma");
  if (x.dim(0) == 0) return;
#if TLM_OPS_HAVE_CUDA
  if (ctx.device.is_cuda() && x.dim(0) <= kMaxFusedLinearTokens &&
      cuda::rms_norm_linear(ctx, x, gamma, eps, w, y, next))
    return;
#endif
  Tensor normed = Tensor::empty(x.shape(), x.dtype(), x.device());
  rms_norm(ctx, x, gamma, eps, normed);
  linear(ctx, normed, w, y);
}

void linear_add(const ExecContext& ctx, const Tensor& x, const LinearWeight& w, Tensor& residual,
                const LinearWeight* next) {
  check_operands("linear_add", ctx, x, w.in_features(), w, residual, "residual");
  ops_detail::check_dtype("linear_add", residual, x.dtype(), "residual");
  if (x.dim(0) == 0) return;
#if TLM_OPS_HAVE_CUDA
  if (ctx.device.is_cuda() && x.dim(0) <= kMaxFusedLinearTokens && cuda::linear_add(ctx, x, w, residual, next)) return;
#endif
  Tensor delta = Tensor::empty(residual.shape(), residual.dtype(), residual.device());
  linear(ctx, x, w, delta);
  add(ctx, residual, delta, residual);
}

void silu_mul_linear_add(const ExecContext& ctx, const Tensor& gate_up, const LinearWeight& w, Tensor& residual,
                         const LinearWeight* next) {
  check_operands("silu_mul_linear_add", ctx, gate_up, 2 * w.in_features(), w, residual, "residual");
  ops_detail::check_dtype("silu_mul_linear_add", residual, gate_up.dtype(), "residual");
  if (gate_up.dim(0) == 0) return;
#if TLM_OPS_HAVE_CUDA
  if (ctx.device.is_cuda() && gate_up.dim(0) <= kMaxFusedLinearTokens &&
      cuda::silu_mul_linear_add(ctx, gate_up, w, residual, next))
    return;
#endif
  Tensor act = Tensor::empty({gate_up.dim(0), w.in_features()}, gate_up.dtype(), gate_up.device());
  silu_mul(ctx, gate_up, act);
  linear_add(ctx, act, w, residual);
}

}  // namespace turbolm
