// rms_norm and the fused residual add + rms_norm: one block per row, f32 statistics, 16-byte accesses.
#include "kernels/cuda/common.cuh"
#include "kernels/cuda/cuda_ops.h"

namespace turbolm::cuda {
namespace {

constexpr int kThreads = 256;

// residual == nullptr: out = rms_norm(x). Otherwise residual += x first (rounded to T, as the model stores
// it), and the norm reads the updated residual. out may alias x.
template <typename T, typename G>
__global__ void __launch_bounds__(kThreads)
    rms_norm_kernel(const T* x, T* residual, const G* __restrict__ gamma, float eps, T* out, int dim) {
  begin_dependent_kernel();
  __shared__ float scratch[32];
  constexpr int kVec = Vec<T>::kSize;
  const int64_t row = blockIdx.x;
  const T* x_row = x + row * dim;
  T* out_row = out + row * dim;
  T* res_row = residual != nullptr ? residual + row * dim : nullptr;
  float sum_sq = 0.0f;
  for (int i = threadIdx.x * kVec; i < dim; i += kThreads * kVec) {
    Vec<T> v;
    v.load(x_row + i);
    if (res_row != nullptr) {
      Vec<T> r;
      r.load(res_row + i);
#pragma unroll
      for (int e = 0; e < kVec; ++e) r.v[e] = from_float<T>(to_float(r.v[e]) + to_float(v.v[e]));
      r.store(res_row + i);
      v = r;
    }
#pragma unroll
    for (int e = 0; e < kVec; ++e) sum_sq += to_float(v.v[e]) * to_float(v.v[e]);
  }
  const float inv_rms = rsqrtf(block_sum(sum_sq, scratch) / static_cast<float>(dim) + eps);
  const T* src = res_row != nullptr ? res_row : x_row;
  for (int i = threadIdx.x * kVec; i < dim; i += kThreads * kVec) {
    Vec<T> v;
    v.load(src + i);
#pragma unroll
    for (int e = 0; e < kVec; ++e) v.v[e] = from_float<T>(to_float(v.v[e]) * inv_rms * to_float(gamma[i + e]));
    v.store(out_row + i);
  }
}

template <typename T, typename G>
void launch_rms_norm(const T* x, T* residual, const G* gamma, float eps, T* out, int64_t rows, int dim,
                     cudaStream_t stream) {
  TLM_CHECK(dim % Vec<T>::kSize == 0) << "rms_norm: CUDA needs the row length (" << dim << ") to be a multiple of "
                                      << Vec<T>::kSize;
  if (rows == 0) return;
  launch_dependent(rms_norm_kernel<T, G>, static_cast<unsigned>(rows), kThreads, 0, stream, x, residual, gamma, eps,
                   out, dim);
}

void run(const ExecContext& ctx, const Tensor& x, Tensor* residual, const Tensor& gamma, float eps, Tensor& out) {
  check_on_device(x, "rms_norm", "x");
  check_on_device(gamma, "rms_norm", "gamma");
  check_on_device(out, "rms_norm", "out");
  const int dim = static_cast<int>(x.dim(-1));
  const int64_t rows = x.numel() / std::max<int64_t>(dim, 1);
  dispatch_float(x.dtype(), "rms_norm", [&]<typename T>(T) {
    T* res = residual != nullptr ? static_cast<T*>(residual->data()) : nullptr;
    if (gamma.dtype() == DType::kF32) {
      launch_rms_norm<T, float>(static_cast<const T*>(x.data()), res, static_cast<const float*>(gamma.data()), eps,
                                static_cast<T*>(out.data()), rows, dim, stream_of(ctx));
    } else {
      TLM_CHECK(gamma.dtype() == x.dtype())
          << "rms_norm: CUDA needs gamma in f32 or " << dtype_name(x.dtype()) << ", got " << gamma.to_string();
      launch_rms_norm<T, T>(static_cast<const T*>(x.data()), res, static_cast<const T*>(gamma.data()), eps,
                            static_cast<T*>(out.data()), rows, dim, stream_of(ctx));
    }
  });
}

}  // namespace

void rms_norm(const ExecContext& ctx, const Tensor& x, const Tensor& gamma, float eps, Tensor& out) {
  run(ctx, x, nullptr, gamma, eps, out);
}

void add_rms_norm(const ExecContext& ctx, Tensor& residual, const Tensor& delta, const Tensor& gamma, float eps,
                  Tensor& out) {
  check_on_device(residual, "add_rms_norm", "residual");
  run(ctx, delta, &residual, gamma, eps, out);
}

namespace {
template void launch_rms_norm<float, float>(const float*, float*, const float*, float, float*, int64_t, int,
                                            cudaStream_t);
template void launch_rms_norm<bf16_t, bf16_t>(const bf16_t*, bf16_t*, const bf16_t*, float, bf16_t*, int64_t, int,
                                              cudaStream_t);
template void launch_rms_norm<bf16_t, float>(const bf16_t*, bf16_t*, const float*, float, bf16_t*, int64_t, int,
                                             cudaStream_t);
template void launch_rms_norm<f16_t, f16_t>(const f16_t*, f16_t*, const f16_t*, float, f16_t*, int64_t, int,
                                            cudaStream_t);
template void launch_rms_norm<f16_t, float>(const f16_t*, f16_t*, const float*, float, f16_t*, int64_t, int,
                                            cudaStream_t);
}  // namespace

}  // namespace turbolm::cuda
