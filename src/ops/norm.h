// RMSNorm as Llama-family models define it: y = x / sqrt(mean(x^2) + eps) * gamma, computed in f32.
#pragma once

#include "core/tensor.h"
#include "ops/exec_context.h"

namespace turbolm {

// x, out: [N, D]; gamma: [D] (any float dtype). out may alias x.
void rms_norm(const ExecContext& ctx, const Tensor& x, const Tensor& gamma, float eps, Tensor& out);

// Fused residual update: residual += delta, then out = rms_norm(residual). residual, delta, out: [N, D].
void add_rms_norm(const ExecContext& ctx, Tensor& residual, const Tensor& delta, const Tensor& gamma, float eps,
                  Tensor& out);

}  // namespace turbolm
