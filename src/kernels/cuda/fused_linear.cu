// The fused decode projections of ops/fused_linear.h on the bulk-copy GEMV (linear_gemv_bulk.cu): the op has
// checked the shapes; here only what the kernel needs besides (half dtypes matching, an f32 bias, aligned data).
#include "kernels/cuda/common.cuh"
#include "kernels/cuda/cuda_ops.h"
#include "kernels/cuda/linear_gemv.cuh"

namespace turbolm::cuda {
namespace {

// The L2 warm-up hint (BulkGemvArgs::next_w) for `next`, where it is a plain weight in the operands' dtype.
void warm_next(const LinearWeight* next, BulkGemvArgs& args) {
  if (next == nullptr || next->weight.dtype() != args.dtype || !next->weight.device().is_cuda() ||
      !next->weight.is_contiguous() || next->weight.rank() != 2)
    return;
  args.next_w = next->weight.data();
  args.next_in = static_cast<int>(next->in_features());
  args.next_out = static_cast<int>(next->out_features());
}

bool add_to_residual(const ExecContext& ctx, const Tensor& x, GemvPrologue prologue, const LinearWeight& w,
                     Tensor& residual, const LinearWeight* next) {
  BulkGemvArgs args;
  if (!bulk_gemv_operands(x, w, args)) return false;
  warm_next(next, args);
  args.prologue = prologue;
  args.epilogue = GemvEpilogue::kAddResidual;
  args.residual = residual.data();
  return gemv_bulk(args, stream_of(ctx));
}

}  // namespace

bool rms_norm_linear(const ExecContext& ctx, const Tensor& x, const Tensor& gamma, float eps, const LinearWeight& w,
                     Tensor& y, const LinearWeight* next) {
  BulkGemvArgs args;
  if (!bulk_gemv_operands(x, w, args) || gamma.dtype() != x.dtype() || !gamma.is_contiguous() ||
      gamma.numel() != w.in_features())
    return false;
  warm_next(next, args);
  args.prologue = GemvPrologue::kRmsNorm;
  args.gamma = gamma.data();
  args.eps = eps;
  args.y = y.data();
  args.y_dtype = y.dtype();
  return gemv_bulk(args, stream_of(ctx));
}

bool linear_add(const ExecContext& ctx, const Tensor& x, const LinearWeight& w, Tensor& residual,
                const LinearWeight* next) {
  return add_to_residual(ctx, x, GemvPrologue::kNone, w, residual, next);
}

bool silu_mul_linear_add(const ExecContext& ctx, const Tensor& gate_up, const LinearWeight& w, Tensor& residual,
                         const LinearWeight* next) {
  return add_to_residual(ctx, gate_up, GemvPrologue::kSiluMul, w, residual, next);
}

}  // namespace turbolm::cuda
