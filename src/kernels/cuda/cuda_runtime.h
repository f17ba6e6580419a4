// CUDA device queries and memory for the engine. CUDA-free: safe to include from any layer, and every
// function answers sensibly on a machine without a GPU (or a build without the CUDA backend linked in).
#pragma once

#include <cstddef>
#include <string>

#include "core/allocator.h"

namespace turbolm {

// True when the driver reports at least one usable device.
bool cuda_device_available();
int cuda_device_count();
// Bytes the KV pool may take on `device`: free memory reported by the driver plus memory the caching
// allocator holds but does not use. 0 without a device.
size_t cuda_free_memory_bytes(int device);
// "NVIDIA H100 80GB HBM3, sm_90, 132 SMs, 79.1 GiB" (empty without a device).
std::string cuda_device_description(int device);

// The caching device allocator (also registered for Device::Kind::kCUDA at program start) and a pinned host
// allocator for staging buffers that the device reads or writes asynchronously.
Allocator& cuda_device_allocator();
Allocator& cuda_pinned_host_allocator();

// A non-blocking CUDA stream on the current device for ExecContext::stream (RAII, movable). Kernels run on the
// stream their ExecContext names; one engine uses one stream per device (see the caching allocator's contract).
class CudaStream {
 public:
  CudaStream();  // throws when no device is usable
  ~CudaStream();
  CudaStream(CudaStream&& other) noexcept : stream_(other.stream_) { other.stream_ = nullptr; }
  CudaStream& operator=(CudaStream&& other) noexcept;
  CudaStream(const CudaStream&) = delete;
  CudaStream& operator=(const CudaStream&) = delete;
  void* get() const { return stream_; }  // a cudaStream_t

 private:
  void* stream_ = nullptr;
};

// Blocks until all work queued on `stream` (a cudaStream_t; nullptr = legacy default stream) has finished.
void cuda_synchronize(void* stream);

}  // namespace turbolm
