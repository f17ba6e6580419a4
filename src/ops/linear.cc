#include "ops/linear.h"

#include "ops/dispatch.h"

namespace turbolm {

void linear(const ExecContext& ctx, const Tensor& x, const LinearWeight& w, Tensor& y) {
  using namespace ops_detail;
  constexpr std::string_view op = "linear";
  TLM_CHECK_ARG(w.weight.rank() == 2) << "linear: weight must be [out, in], got " << w.weight.to_string();
  check_float(op, w.weight, "weight");
  check_contiguous(op, w.weight, "weight");
  check_contiguous(op, x, "x");
  check_contiguous(op, y, "y");
  for (const Tensor* t : std::initializer_list<const Tensor*>{&x, &y, &w.weight}) check_device(op, ctx, *t, "a tensor");
  const int64_t in = w.in_features(), out = w.out_features();
  TLM_CHECK_ARG(x.rank() >= 1 && x.dim(-1) == in)
      << "linear: x " << x.to_string() << " does not end in in_features " << in;
  const int64_t T = x.numel() / std::max<int64_t>(in, 1);
  TLM_CHECK_ARG(y.rank() >= 1 && y.dim(-1) == out && y.numel() == T * out)
      << "linear: y " << y.to_string() << " must hold [" << T << ", " << out << "]";
  if (y.dtype() != x.dtype()) check_dtype(op, y, DType::kF32, "y (x's dtype or f32)");
  TLM_CHECK_ARG(x.data() != y.data() || x.numel() == 0) << "linear: y must not alias x";
  if (w.bias.defined()) {
    check_float(op, w.bias, "bias");
    check_device(op, ctx, w.bias, "bias");
    check_shape(op, w.bias, {out}, "bias");
  }
  if (ctx.device.is_cpu()) check_dtype(op, x, DType::kF32, "x (CPU activations)");
  TLM_DISPATCH(ctx, linear, ctx, x, w, y);
}

}  // namespace turbolm
