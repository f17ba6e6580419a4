// Memory allocation behind one interface, so tensors do not care which backend owns their bytes.
#pragma once

#include <cstddef>
#include <memory>

#include "core/device.h"

namespace turbolm {

class Allocator {
 public:
  virtual ~Allocator() = default;
  virtual void* allocate(size_t bytes) = 0;
  virtual void deallocate(void* ptr, size_t bytes) = 0;
  virtual Device device() const = 0;
  // Returns cached memory to the system (caching allocators); a no-op otherwise.
  virtual void trim() {}
};

// 64-byte aligned host memory (AVX-512 loads, cache lines).
Allocator& host_allocator();

// The allocator for `device`: host for CPU; the CUDA caching allocator once the CUDA backend registered it.
// Throws Unsupported when the device's backend is not built or not registered.
Allocator& allocator_for(Device device);
void register_allocator(Device::Kind kind, Allocator* allocator);

}  // namespace turbolm
