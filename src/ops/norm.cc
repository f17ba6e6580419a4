#include "ops/norm.h"

#include "ops/dispatch.h"

namespace turbolm {
namespace {

void check_norm(std::string_view op, const ExecContext& ctx, const Tensor& x, const Tensor& gamma, const Tensor& out) {
  using namespace ops_detail;
  for (const Tensor* t : std::initializer_list<const Tensor*>{&x, &gamma, &out}) {
    check_device(op, ctx, *t, "a tensor");
    check_float(op, *t, "a tensor");
    check_contiguous(op, *t, "a tensor");
  }
  TLM_CHECK_ARG(x.rank() >= 1) << op << ": x must have a last dimension";
  check_shape(op, gamma, {x.dim(-1)}, "gamma");
  check_shape(op, out, x.shape(), "out");
}

}  // namespace

void rms_norm(const ExecContext& ctx, const Tensor& x, const Tensor& gamma, float eps, Tensor& out) {
  check_norm("rms_norm", ctx, x, gamma, out);
  TLM_DISPATCH(ctx, rms_norm, ctx, x, gamma, eps, out);
}

void add_rms_norm(const ExecContext& ctx, Tensor& residual, const Tensor& delta, const Tensor& gamma, float eps,
                  Tensor& out) {
  check_norm("add_rms_norm", ctx, residual, gamma, out);
  ops_detail::check_device("add_rms_norm", ctx, delta, "delta");
  ops_detail::check_float("add_rms_norm", delta, "delta");
  ops_detail::check_contiguous("add_rms_norm", delta, "delta");
  ops_detail::check_shape("add_rms_norm", delta, residual.shape(), "delta");
  TLM_DISPATCH(ctx, add_rms_norm, ctx, residual, delta, gamma, eps, out);
}

}  // namespace turbolm
