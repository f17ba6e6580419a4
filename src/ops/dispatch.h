// Shared by ops/*.cc: argument checks that name the op, and the device dispatch to kernels/cpu or kernels/cuda.
// Internal to the ops layer (not included by anything above it).
#pragma once

#include <string_view>

#include "core/error.h"
#include "core/tensor.h"
#include "kernels/cpu/cpu_ops.h"
#include "ops/exec_context.h"

#if defined(TURBOLM_WITH_CUDA) && __has_include("kernels/cuda/cuda_ops.h")
#include "kernels/cuda/cuda_ops.h"
#define TLM_OPS_HAVE_CUDA 1
#else
#define TLM_OPS_HAVE_CUDA 0
#endif

// TLM_DISPATCH(ctx, op, args...): runs turbolm::cpu::op(args...) or turbolm::cuda::op(args...) by ctx.device;
// a CUDA context without the CUDA backend throws Unsupported naming the op.
#if TLM_OPS_HAVE_CUDA
#define TLM_DISPATCH(ctx, op, ...)                                     \
  do {                                                                 \
    if ((ctx).device.is_cpu()) return ::turbolm::cpu::op(__VA_ARGS__); \
    return ::turbolm::cuda::op(__VA_ARGS__);                           \
  } while (0)
#else
#define TLM_DISPATCH(ctx, op, ...)                                                      \
  do {                                                                                  \
    if ((ctx).device.is_cpu()) return ::turbolm::cpu::op(__VA_ARGS__);                  \
    TLM_FAIL(kUnsupported) << #op ": no kernel for device " << (ctx).device.to_string() \
                           << " (turbolm was built without the CUDA backend)";          \
  } while (0)
#endif

namespace turbolm::ops_detail {

// Every tensor an op touches lives on the op's device.
inline void check_device(std::string_view op, const ExecContext& ctx, const Tensor& t, std::string_view name) {
  TLM_CHECK_ARG(t.device() == ctx.device)
      << op << ": " << name << " is on " << t.device().to_string() << " but the op runs on " << ctx.device.to_string();
}

inline void check_contiguous(std::string_view op, const Tensor& t, std::string_view name) {
  TLM_CHECK_ARG(t.is_contiguous()) << op << ": " << name << " must be contiguous, got " << t.to_string();
}

inline void check_float(std::string_view op, const Tensor& t, std::string_view name) {
  TLM_CHECK_ARG(t.dtype() == DType::kF32 || t.dtype() == DType::kBF16 || t.dtype() == DType::kF16)
      << op << ": " << name << " must be f32, bf16 or f16, got " << dtype_name(t.dtype());
}

inline void check_dtype(std::string_view op, const Tensor& t, DType dtype, std::string_view name) {
  TLM_CHECK_ARG(t.dtype() == dtype) << op << ": " << name << " must be " << dtype_name(dtype) << ", got "
                                    << dtype_name(t.dtype());
}

inline void check_shape(std::string_view op, const Tensor& t, const Shape& shape, std::string_view name) {
  TLM_CHECK_ARG(t.shape() == shape) << op << ": " << name << " must have shape " << shape_to_string(shape) << ", got "
                                    << shape_to_string(t.shape());
}

}  // namespace turbolm::ops_detail
