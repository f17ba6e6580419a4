// Device queries, the caching device allocator, pinned host memory and error reporting.
#include <cstdlib>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/allocator.h"
#include "core/error.h"
#include "kernels/cuda/common.cuh"
#include "kernels/cuda/cuda_runtime.h"

namespace turbolm {
namespace cuda {

void fail_cuda(const char* expr, cudaError_t error, const char* file, int line) {
  const ErrorCode code = error == cudaErrorMemoryAllocation ? ErrorCode::kOutOfMemory : ErrorCode::kInternal;
  throw_error(code, std::string("CUDA error: ") + expr + " failed with " + cudaGetErrorName(error) + " (" +
                        cudaGetErrorString(error) + ") at " + file + ":" + std::to_string(line));
}

int multiprocessor_count() {
  static const int count = [] {
    int device = 0, sms = 0;
    CUDA_CHECK(cudaGetDevice(&device));
    CUDA_CHECK(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device));
    return sms;
  }();
  return count;
}

void ensure_max_dynamic_shared_memory(const void* kernel, size_t bytes) {
  static std::mutex mutex;
  static std::set<std::pair<const void*, int>> done;
  int device = 0;
  CUDA_CHECK(cudaGetDevice(&device));
  std::lock_guard<std::mutex> lock(mutex);
  if (!done.emplace(kernel, device).second) return;
  CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(bytes)));
}

bool hopper_feature_enabled(const char* env_switch, std::string_view off) {
  const char* env = std::getenv(env_switch);
  if (env != nullptr && std::string_view(env) == off) return false;
  int device = 0, major = 0;
  CUDA_CHECK(cudaGetDevice(&device));
  CUDA_CHECK(cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, device));
  return major >= 9;
}

bool programmatic_launch_enabled() {
  static const bool enabled = hopper_feature_enabled("TURBOLM_CUDA_PDL", "0");
  return enabled;
}

namespace {

// Caches freed blocks by device and rounded size and hands them out again without cudaMalloc / cudaFree (both
// of which synchronise the device). A block goes back to the free list of the device it was allocated on,
// whichever device is current when it is freed (tensor-parallel rank threads drive one device each). Blocks are reused
// in stream order: every kernel of ours runs on the stream the caller passes, and one engine drives one stream per
// device, so a block freed on the host while queued work still reads it is only given to work queued after that work.
// Callers mixing streams must synchronise first.
class CachingDeviceAllocator final : public Allocator {
 public:
  void* allocate(size_t bytes) override {
    if (bytes == 0) return nullptr;
    const size_t rounded = round_size(bytes);
    int device = 0;
    CUDA_CHECK(cudaGetDevice(&device));
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (capture_ != nullptr) {  // a graph being captured reuses its own freed blocks first
        auto& blocks = capture_->free[rounded];
        if (!blocks.empty()) {
          void* ptr = blocks.back();
          blocks.pop_back();
          return ptr;
        }
      }
      auto it = free_.find({device, rounded});
      if (it != free_.end() && !it->second.empty()) {
        void* ptr = it->second.back();
        it->second.pop_back();
        cached_bytes_ -= rounded;
        if (capture_ != nullptr) capture_->owned.emplace(ptr, rounded);
        device_of_[ptr] = device;
        return ptr;
      }
    }
    void* ptr = nullptr;
    cudaError_t error = cudaMalloc(&ptr, rounded);
    if (error == cudaErrorMemoryAllocation) {  // give cached blocks back and try once more
      cudaGetLastError();
      trim();
      error = cudaMalloc(&ptr, rounded);
    }
    if (error != cudaSuccess) {
      cudaGetLastError();
      TLM_FAIL(kOutOfMemory) << "out of CUDA memory allocating " << bytes << " bytes (" << cudaGetErrorString(error)
                             << ")";
    }
    std::lock_guard<std::mutex> lock(mutex_);
    if (capture_ != nullptr) capture_->owned.emplace(ptr, rounded);
    device_of_[ptr] = device;
    return ptr;
  }

  void deallocate(void* ptr, size_t bytes) override {
    if (ptr == nullptr) return;
    const size_t rounded = round_size(bytes);
    std::lock_guard<std::mutex> lock(mutex_);
    // A block the capture allocated and freed again stays the graph's: every replay writes it.
    if (capture_ != nullptr && capture_->owned.contains(ptr)) {
      capture_->free[rounded].push_back(ptr);
      return;
    }
    int device = 0;
    if (const auto owner = device_of_.find(ptr); owner != device_of_.end()) {
      device = owner->second;
      device_of_.erase(owner);
    } else {
      cudaGetDevice(&device);  // not handed out here (cannot happen); a deleter must not throw
    }
    free_[{device, rounded}].push_back(ptr);
    cached_bytes_ += rounded;
  }

  // While a pool is set, the blocks allocated and freed by the work being captured are kept in it (CapturePool):
  // the graph's kernels use their addresses on every replay, so nothing else may be handed them.
  void set_capture_pool(CapturePool* pool) {
    std::lock_guard<std::mutex> lock(mutex_);
    capture_ = pool;
  }

  // Gives the blocks the graph held back to the cache (the graph is gone; queued replays are ordered before any
  // later user on the same stream).
  void release(CapturePool& pool) {
    std::lock_guard<std::mutex> lock(mutex_);
    for (auto& [size, blocks] : pool.free) {
      for (void* ptr : blocks) {
        free_[{device_of_.at(ptr), size}].push_back(ptr);
        device_of_.erase(ptr);
      }
      cached_bytes_ += size * blocks.size();
      blocks.clear();
    }
  }

  Device device() const override {
    int index = 0;
    cudaGetDevice(&index);
    return Device::cuda(index);
  }

  void trim() override {
    std::lock_guard<std::mutex> lock(mutex_);
    if (cached_bytes_ == 0) return;
    int current = 0;
    CUDA_CHECK(cudaGetDevice(&current));
    for (auto& [key, blocks] : free_) {
      if (blocks.empty()) continue;
      CUDA_CHECK(cudaSetDevice(key.first));
      CUDA_CHECK(cudaDeviceSynchronize());  // queued work may still use a cached block
      for (void* ptr : blocks) CUDA_CHECK(cudaFree(ptr));
      blocks.clear();
    }
    CUDA_CHECK(cudaSetDevice(current));
    cached_bytes_ = 0;
  }

  // Bytes held in the free lists of `device`.
  size_t cached_bytes(int device) {
    std::lock_guard<std::mutex> lock(mutex_);
    size_t bytes = 0;
    for (const auto& [key, blocks] : free_)
      if (key.first == device) bytes += key.second * blocks.size();
    return bytes;
  }

 private:
  // 512-byte granules below 1 MiB, 2 MiB granules above: few distinct sizes, little waste.
  static size_t round_size(size_t bytes) {
    const size_t granule = bytes < (size_t{1} << 20) ? 512 : (size_t{2} << 20);
    return (bytes + granule - 1) / granule * granule;
  }

  std::mutex mutex_;
  std::map<std::pair<int, size_t>, std::vector<void*>> free_;  // (device, rounded size) -> free blocks
  std::unordered_map<void*, int> device_of_;                   // every block handed out -> its device
  size_t cached_bytes_ = 0;
  CapturePool* capture_ = nullptr;
};

class PinnedHostAllocator final : public Allocator {
 public:
  void* allocate(size_t bytes) override {
    if (bytes == 0) return nullptr;
    void* ptr = nullptr;
    CUDA_CHECK(cudaHostAlloc(&ptr, bytes, cudaHostAllocDefault));
    return ptr;
  }
  void deallocate(void* ptr, size_t) override {
    if (ptr != nullptr) CUDA_CHECK(cudaFreeHost(ptr));
  }
  Device device() const override { return Device::cpu(); }
};

// Never destroyed: tensors in static objects may outlive any destruction order we could pick.
CachingDeviceAllocator& caching_allocator() {
  static auto* allocator = new CachingDeviceAllocator();
  return *allocator;
}

// Registered at program start, before main(); registration itself makes no CUDA call, so it is harmless on a
// machine without a GPU (allocation then throws OutOfMemory/Internal naming the CUDA error).
const bool registered = [] {
  register_allocator(Device::Kind::kCUDA, &caching_allocator());
  return true;
}();

}  // namespace

void set_capture_pool(CapturePool* pool) { caching_allocator().set_capture_pool(pool); }
void release_capture_pool(CapturePool& pool) { caching_allocator().release(pool); }

DeviceScratch::DeviceScratch(size_t bytes) : bytes_(bytes) { ptr_ = caching_allocator().allocate(bytes); }
DeviceScratch::~DeviceScratch() { caching_allocator().deallocate(ptr_, bytes_); }

}  // namespace cuda

int cuda_device_count() {
  int count = 0;
  if (cudaGetDeviceCount(&count) != cudaSuccess) {
    cudaGetLastError();  // no driver / no device: not an error for the caller
    return 0;
  }
  return count;
}

bool cuda_device_available() { return cuda_device_count() > 0; }

size_t cuda_free_memory_bytes(int device) {
  if (device < 0 || device >= cuda_device_count()) return 0;
  int previous = 0;
  CUDA_CHECK(cudaGetDevice(&previous));
  CUDA_CHECK(cudaSetDevice(device));
  size_t free_bytes = 0, total_bytes = 0;
  CUDA_CHECK(cudaMemGetInfo(&free_bytes, &total_bytes));
  CUDA_CHECK(cudaSetDevice(previous));
  return free_bytes + cuda::caching_allocator().cached_bytes(device);
}

std::string cuda_device_description(int device) {
  if (device < 0 || device >= cuda_device_count()) return {};
  cudaDeviceProp prop{};
  CUDA_CHECK(cudaGetDeviceProperties(&prop, device));
  char memory[32];
  std::snprintf(memory, sizeof memory, "%.1f GiB", static_cast<double>(prop.totalGlobalMem) / (1 << 30));
  return std::string(prop.name) + ", sm_" + std::to_string(prop.major) + std::to_string(prop.minor) + ", " +
         std::to_string(prop.multiProcessorCount) + " SMs, " + memory;
}

Allocator& cuda_device_allocator() { return cuda::caching_allocator(); }

Allocator& cuda_pinned_host_allocator() {
  static auto* allocator = new cuda::PinnedHostAllocator();
  return *allocator;
}

CudaStream::CudaStream() {
  cudaStream_t stream = nullptr;
  CUDA_CHECK(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));
  stream_ = stream;
}

CudaStream::~CudaStream() {
  if (stream_ != nullptr) cudaStreamDestroy(static_cast<cudaStream_t>(stream_));
}

CudaStream& CudaStream::operator=(CudaStream&& other) noexcept {
  if (this != &other) {
    if (stream_ != nullptr) cudaStreamDestroy(static_cast<cudaStream_t>(stream_));
    stream_ = std::exchange(other.stream_, nullptr);
  }
  return *this;
}

void cuda_synchronize(void* stream) { CUDA_CHECK(cudaStreamSynchronize(static_cast<cudaStream_t>(stream))); }

}  // namespace turbolm
