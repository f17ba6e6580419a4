// Rotary embedding on CPU: cos / sin of float(position) * inv_freq in f32 (as transformers computes them), once
// per token and shared by all its heads.
#include <cmath>

#include "kernels/cpu/cpu_ops.h"
#include "kernels/cpu/row_io.h"

namespace turbolm::cpu {
namespace {

// x: one head [D] f32; cos / sin: [rotary_dim / 2].
void rotate(float* x, const float* cos, const float* sin, int half, bool neox) {
  if (neox) {
    for (int i = 0; i < half; ++i) {
      const float x1 = x[i], x2 = x[i + half];
      x[i] = x1 * cos[i] - x2 * sin[i];
      x[i + half] = x2 * cos[i] + x1 * sin[i];
    }
  } else {
    for (int i = 0; i < half; ++i) {
      const float x1 = x[2 * i], x2 = x[2 * i + 1];
      x[2 * i] = x1 * cos[i] - x2 * sin[i];
      x[2 * i + 1] = x2 * cos[i] + x1 * sin[i];
    }
  }
}

// Rotates the H heads [H, D] of one token in place, whatever the activation dtype.
void rotate_heads(const VecOps& v, void* data, DType dtype, int64_t H, int64_t D, const float* cos, const float* sin,
                  int half, bool neox, std::vector<float>& scratch) {
  const size_t hb = dtype_bytes(dtype, D);
  for (int64_t h = 0; h < H; ++h) {
    char* head = static_cast<char*>(data) + h * hb;
    if (dtype == DType::kF32) {
      rotate(reinterpret_cast<float*>(head), cos, sin, half, neox);
    } else {
      float* row = const_cast<float*>(row_as_f32(v, head, dtype, D, scratch));  // points into scratch
      rotate(row, cos, sin, half, neox);
      store_row(v, row, head, dtype, D);
    }
  }
}

}  // namespace

void rope(const ExecContext& ctx, Tensor& q, Tensor& k, const Tensor& positions, const RopeTable& table) {
  const VecOps& v = vec_ops(active_isa());
  const int64_t T = q.dim(0), Hq = q.dim(1), Hk = k.dim(1), D = q.dim(2);
  const int half = table.rotary_dim / 2;
  const int32_t* pos = positions.data<int32_t>();
  const size_t q_row = dtype_bytes(q.dtype(), Hq * D), k_row = dtype_bytes(k.dtype(), Hk * D);
  ctx.threads().parallel_for(
      T,
      [&](int64_t t0, int64_t t1) {
        std::vector<float> cos(half), sin(half), scratch;
        for (int64_t t = t0; t < t1; ++t) {
          const float p = static_cast<float>(pos[t]);
          for (int i = 0; i < half; ++i) {
            const float angle = p * table.inv_freq[i];
            cos[i] = std::cos(angle) * table.attention_scaling;
            sin[i] = std::sin(angle) * table.attention_scaling;
          }
          rotate_heads(v, static_cast<char*>(q.data()) + t * q_row, q.dtype(), Hq, D, cos.data(), sin.data(), half,
                       table.neox_style, scratch);
          rotate_heads(v, static_cast<char*>(k.data()) + t * k_row, k.dtype(), Hk, D, cos.data(), sin.data(), half,
                       table.neox_style, scratch);
        }
      },
      row_grain((Hq + Hk) * D));
}

}  // namespace turbolm::cpu
