#include "core/allocator.h"

#include <cstdlib>
#include <new>

#include "core/error.h"

namespace turbolm {
namespace {

class HostAllocator final : public Allocator {
 public:
  void* allocate(size_t bytes) override {
    if (bytes == 0) return nullptr;
    size_t rounded = (bytes + 63) / 64 * 64;
    void* ptr = std::aligned_alloc(64, rounded);
    if (ptr == nullptr) TLM_FAIL(kOutOfMemory) << "out of host memory allocating " << bytes << " bytes";
    return ptr;
  }
  void deallocate(void* ptr, size_t) override { std::free(ptr); }
  Device device() const override { return Device::cpu(); }
};

Allocator* g_cuda_allocator = nullptr;

}  // namespace

Allocator& host_allocator() {
  static HostAllocator allocator;
  return allocator;
}

void register_allocator(Device::Kind kind, Allocator* allocator) {
  TLM_CHECK(kind == Device::Kind::kCUDA) << "only the CUDA allocator is registered at run time";
  g_cuda_allocator = allocator;
}

Allocator& allocator_for(Device device) {
  if (device.is_cpu()) return host_allocator();
  if (g_cuda_allocator == nullptr)
    TLM_FAIL(kUnsupported) << "device " << device.to_string() << " is not available (CUDA backend not built or no GPU)";
  return *g_cuda_allocator;
}

}  // namespace turbolm
