// RMSNorm on CPU: one row per task; f32 math whatever the activation dtype.
#include <cmath>

#include "kernels/cpu/cpu_ops.h"
#include "kernels/cpu/row_io.h"

namespace turbolm::cpu {
namespace {

std::vector<float> gamma_f32(const VecOps& v, const Tensor& gamma) {
  std::vector<float> scratch;
  const float* g = row_as_f32(v, gamma.data(), gamma.dtype(), gamma.numel(), scratch);
  return std::vector<float>(g, g + gamma.numel());
}

// out_row = x_row / sqrt(mean(x_row^2) + eps) * gamma (x_row f32; out in `dtype`).
void normalize_row(const VecOps& v, const float* x, const float* gamma, float eps, int64_t D, void* out, DType dtype,
                   std::vector<float>& tmp) {
  const float inv_rms = 1.0f / std::sqrt(v.sum_squares(x, D) / static_cast<float>(D) + eps);
  if (dtype == DType::kF32) return v.scale_mul(x, inv_rms, gamma, static_cast<float*>(out), D);
  tmp.resize(static_cast<size_t>(D));
  v.scale_mul(x, inv_rms, gamma, tmp.data(), D);
  store_row(v, tmp.data(), out, dtype, D);
}

}  // namespace

void rms_norm(const ExecContext& ctx, const Tensor& x, const Tensor& gamma, float eps, Tensor& out) {
  const VecOps& v = vec_ops(active_isa());
  const int64_t D = x.dim(-1), N = x.numel() / D;
  const std::vector<float> g = gamma_f32(v, gamma);
  const size_t xb = dtype_bytes(x.dtype(), D), ob = dtype_bytes(out.dtype(), D);
  const char* xp = static_cast<const char*>(x.data());
  char* op = static_cast<char*>(out.data());
  ctx.threads().parallel_for(
      N,
      [&](int64_t r0, int64_t r1) {
        std::vector<float> in, tmp;
        for (int64_t r = r0; r < r1; ++r) {
          const float* row = row_as_f32(v, xp + r * xb, x.dtype(), D, in);
          normalize_row(v, row, g.data(), eps, D, op + r * ob, out.dtype(), tmp);
        }
      },
      row_grain(D));
}

void add_rms_norm(const ExecContext& ctx, Tensor& residual, const Tensor& delta, const Tensor& gamma, float eps,
                  Tensor& out) {
  const VecOps& v = vec_ops(active_isa());
  const int64_t D = residual.dim(-1), N = residual.numel() / D;
  const std::vector<float> g = gamma_f32(v, gamma);
  const size_t rb = dtype_bytes(residual.dtype(), D), db = dtype_bytes(delta.dtype(), D),
               ob = dtype_bytes(out.dtype(), D);
  char* rp = static_cast<char*>(residual.data());
  const char* dp = static_cast<const char*>(delta.data());
  char* op = static_cast<char*>(out.data());
  ctx.threads().parallel_for(
      N,
      [&](int64_t r0, int64_t r1) {
        std::vector<float> sum(static_cast<size_t>(D)), in_r, in_d, tmp;
        for (int64_t r = r0; r < r1; ++r) {
          const float* a = row_as_f32(v, rp + r * rb, residual.dtype(), D, in_r);
          const float* b = row_as_f32(v, dp + r * db, delta.dtype(), D, in_d);
          v.add(a, b, sum.data(), D);
          // The residual stream keeps its dtype: normalise what was stored, as HF does.
          store_row(v, sum.data(), rp + r * rb, residual.dtype(), D);
          const float* stored = row_as_f32(v, rp + r * rb, residual.dtype(), D, in_r);
          normalize_row(v, stored, g.data(), eps, D, op + r * ob, out.dtype(), tmp);
        }
      },
      row_grain(D));
}

}  // namespace turbolm::cpu
