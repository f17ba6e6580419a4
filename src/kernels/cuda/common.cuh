// Shared by the CUDA kernels: error checks, element types, vector loads, RAII handles, launch helpers.
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <cstdint>
#include <map>
#include <string_view>
#include <utility>
#include <vector>

#include "core/dtype.h"
#include "core/error.h"
#include "core/tensor.h"
#include "kernels/cuda/cuda_runtime.h"
#include "ops/exec_context.h"

namespace turbolm::cuda {

[[noreturn]] void fail_cuda(const char* expr, cudaError_t error, const char* file, int line);

}  // namespace turbolm::cuda

// CUDA_CHECK(cudaMemcpyAsync(...));  -- throws turbolm::Error naming the expression and the CUDA error string.
#define CUDA_CHECK(expr)                                                                                    \
  do {                                                                                                      \
    const cudaError_t tlm_cuda_err_ = (expr);                                                               \
    if (tlm_cuda_err_ != cudaSuccess) ::turbolm::cuda::fail_cuda(#expr, tlm_cuda_err_, __FILE__, __LINE__); \
  } while (0)

// After every kernel launch: catches bad launch configurations at the launch site.
#define CUDA_CHECK_LAUNCH() CUDA_CHECK(cudaGetLastError())

namespace turbolm::cuda {

using bf16_t = __nv_bfloat16;
using f16_t = __half;

inline cudaStream_t stream_of(const ExecContext& ctx) { return static_cast<cudaStream_t>(ctx.stream); }
inline int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

// Number of multiprocessors of the current device (cached per process).
int multiprocessor_count();

template <typename T>
__device__ __forceinline__ float to_float(T v);
template <>
__device__ __forceinline__ float to_float<float>(float v) {
  return v;
}
template <>
__device__ __forceinline__ float to_float<bf16_t>(bf16_t v) {
  return __bfloat162float(v);
}
template <>
__device__ __forceinline__ float to_float<f16_t>(f16_t v) {
  return __half2float(v);
}

template <typename T>
__device__ __forceinline__ T from_float(float v);
template <>
__device__ __forceinline__ float from_float<float>(float v) {
  return v;
}
template <>
__device__ __forceinline__ bf16_t from_float<bf16_t>(float v) {
  return __float2bfloat16_rn(v);
}
template <>
__device__ __forceinline__ f16_t from_float<f16_t>(float v) {
  return __float2half_rn(v);
}

// 16 bytes of T: the unit of every vectorised load/store here.
template <typename T>
struct Vec {
  static constexpr int kSize = 16 / sizeof(T);
  union {
    uint4 raw;
    T v[kSize];
  };
  __device__ __forceinline__ void load(const T* p) { raw = *reinterpret_cast<const uint4*>(p); }
  __device__ __forceinline__ void load_global(const T* p) { raw = __ldg(reinterpret_cast<const uint4*>(p)); }
  __device__ __forceinline__ void store(T* p) const { *reinterpret_cast<uint4*>(p) = raw; }
};

// f32 dot product of two 16-byte vectors of 8 halves (the GEMVs' inner step).
template <typename T>
__device__ __forceinline__ float dot8(const Vec<T>& a, const Vec<T>& b) {
  float s = 0.0f;
#pragma unroll
  for (int e = 0; e < 8; ++e) s = fmaf(to_float(a.v[e]), to_float(b.v[e]), s);
  return s;
}

template <typename V>
__device__ __forceinline__ V warp_sum(V v) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}
__device__ __forceinline__ float warp_max(float v) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
  return v;
}

// Block-wide reduction; every thread gets the result. warp_reduce(v) reduces a warp's values (every lane gets the
// result); the warps' results meet in `scratch` (32 values) and one warp_reduce more combines them, lanes past the
// block's warps holding `identity`.
template <typename V, typename WarpReduce>
__device__ __forceinline__ V block_reduce(V v, V* scratch, V identity, WarpReduce warp_reduce) {
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = (blockDim.x + 31) >> 5;
  v = warp_reduce(v);
  __syncthreads();
  if (lane == 0) scratch[warp] = v;
  __syncthreads();
  return warp_reduce(lane < warps ? scratch[lane] : identity);
}
// Block-wide sum and max of floats. `scratch` holds 32 floats.
__device__ __forceinline__ float block_sum(float v, float* scratch) {
  return block_reduce(v, scratch, 0.0f, [](float x) { return warp_sum(x); });
}
__device__ __forceinline__ float block_max(float v, float* scratch) {
  return block_reduce(v, scratch, -INFINITY, [](float x) { return warp_max(x); });
}

// Calls f(T{}) with T the device type of a float dtype (f32, bf16, f16); other dtypes throw Unsupported.
template <typename F>
void dispatch_float(DType dtype, const char* op, F&& f) {
  switch (dtype) {
    case DType::kF32: f(float{}); return;
    case DType::kBF16: f(bf16_t{}); return;
    case DType::kF16: f(f16_t{}); return;
    default: TLM_FAIL(kUnsupported) << op << ": CUDA has no kernel for dtype " << dtype_name(dtype);
  }
}

// Like dispatch_float without f32 (tensor-core kernels).
template <typename F>
void dispatch_half(DType dtype, const char* op, F&& f) {
  switch (dtype) {
    case DType::kBF16: f(bf16_t{}); return;
    case DType::kF16: f(f16_t{}); return;
    default: TLM_FAIL(kUnsupported) << op << ": CUDA has no kernel for dtype " << dtype_name(dtype);
  }
}

// Programmatic dependent launch (sm_90): a kernel launched by launch_dependent() may start before the kernel
// ahead of it in the stream has finished; it must call grid_dependency_wait() before it reads anything that
// kernel wrote. The kernel ahead lets it start early by calling allow_dependent_launch() (once all of its
// blocks have called it or exited). Both are no-ops on older GPUs and for ordinary launches.
__device__ __forceinline__ void grid_dependency_wait() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  asm volatile("griddepcontrol.wait;" ::: "memory");
#endif
}
__device__ __forceinline__ void allow_dependent_launch() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  asm volatile("griddepcontrol.launch_dependents;");
#endif
}

// The first statement of every kernel launched by launch_dependent(): let the next kernel be scheduled, then
// wait for the kernel ahead. The next kernel's blocks become resident as room frees up and either wait in their
// own grid_dependency_wait() or start on work that depends on no kernel (the bulk GEMV's weight copies); since
// every kernel waits for the one ahead before it reads or writes anything, a chain of waiting kernels finishes
// in stream order.
// (H100, Qwen3-8B bs1 decode: 177.8 tok/s against 167.6 with the trigger after the wait, bench/results/cuda_h100.md.)
__device__ __forceinline__ void begin_dependent_kernel() {
  allow_dependent_launch();
  grid_dependency_wait();
}

// Raises `kernel`'s dynamic shared memory limit to `bytes` on the current device, once per (kernel, device):
// the attribute is per device, so a process driving several GPUs needs it on each.
void ensure_max_dynamic_shared_memory(const void* kernel, size_t bytes);

// Whether the current device is sm_90 or newer and the environment variable `env_switch` is not `off` (the
// switches that turn a Hopper-only path off for measurements).
bool hopper_feature_enabled(const char* env_switch, std::string_view off);

// Whether launch_dependent() asks for an early start: compute capability >= 9.0 and TURBOLM_CUDA_PDL not "0"
// (the switch exists to measure what it brings).
bool programmatic_launch_enabled();

template <typename... Params, typename... Args>
void launch_dependent(void (*kernel)(Params...), dim3 grid, dim3 block, size_t shared_bytes, cudaStream_t stream,
                      Args&&... args) {
  cudaLaunchAttribute attribute{};
  attribute.id = cudaLaunchAttributeProgrammaticStreamSerialization;
  attribute.val.programmaticStreamSerializationAllowed = 1;
  cudaLaunchConfig_t config{};
  config.gridDim = grid;
  config.blockDim = block;
  config.dynamicSmemBytes = shared_bytes;
  config.stream = stream;
  config.attrs = &attribute;
  config.numAttrs = programmatic_launch_enabled() ? 1 : 0;
  CUDA_CHECK(cudaLaunchKernelEx(&config, kernel, std::forward<Args>(args)...));
}

inline void check_on_device(const Tensor& t, const char* op, const char* name) {
  TLM_CHECK(t.device().is_cuda()) << op << ": " << name << " must live on a CUDA device, got " << t.to_string();
  TLM_CHECK(t.is_contiguous()) << op << ": " << name << " must be contiguous";
}

// The blocks a CUDA graph's captured work allocated from the caching allocator (graph.cu). `owned`: every block
// handed out during the capture (address -> rounded size); `free`: those the work gave back, reused only by
// later work of the same capture and returned to the cache when the graph is destroyed. Blocks still held
// at the end of the capture belong to their holders (persistent workspaces; see workspace_epoch()).
struct CapturePool {
  std::map<void*, size_t> owned;
  std::map<size_t, std::vector<void*>> free;
};
void set_capture_pool(CapturePool* pool);  // nullptr: capture ended
void release_capture_pool(CapturePool& pool);

// Bumped whenever a persistent device workspace that kernels use by address (e.g. the skinny GEMM's split-K
// partials) moves: graphs captured before then are stale and must be captured again.
uint64_t workspace_epoch();
void bump_workspace_epoch();

// Grow-only pinned host staging for asynchronous copies (the sampling op's upload/download, graphed steps'
// inputs). Growing frees the old buffer: callers make sure no queued copy still reads it.
class PinnedBuffer {
 public:
  ~PinnedBuffer() {
    if (ptr_ != nullptr) cuda_pinned_host_allocator().deallocate(ptr_, bytes_);
  }
  void* reserve(size_t bytes) {
    if (bytes > bytes_) {
      if (ptr_ != nullptr) cuda_pinned_host_allocator().deallocate(ptr_, bytes_);
      bytes_ = std::max(bytes, 2 * bytes_);
      ptr_ = cuda_pinned_host_allocator().allocate(bytes_);
    }
    return ptr_;
  }

 private:
  void* ptr_ = nullptr;
  size_t bytes_ = 0;
};

// A device scratch buffer from the caching allocator, returned when it goes out of scope. Work queued on the
// caller's stream may still use it then: the caching allocator hands it out again only to later work on the
// same stream (see runtime.cu), so stream order keeps that safe.
class DeviceScratch {
 public:
  explicit DeviceScratch(size_t bytes);
  ~DeviceScratch();
  DeviceScratch(const DeviceScratch&) = delete;
  DeviceScratch& operator=(const DeviceScratch&) = delete;
  template <typename T>
  T* as() const {
    return static_cast<T*>(ptr_);
  }

 private:
  void* ptr_ = nullptr;
  size_t bytes_ = 0;
};

}  // namespace turbolm::cuda
