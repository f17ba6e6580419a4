// Reusable per-step buffers: a forward pass asks for the same slots every step, so memory is allocated once
// for the largest step seen instead of on every call.
#pragma once

#include <cstdint>
#include <vector>

#include "core/tensor.h"

namespace turbolm {

class ScratchBuffers {
 public:
  // A contiguous tensor of `shape` for `slot`, reusing the slot's storage when it is large enough.
  // The contents are unspecified. Valid until the same slot is requested again with a larger size.
  Tensor get(int slot, const Shape& shape, DType dtype, Device device);
  // Changes whenever a slot's storage moves (work recorded with the old addresses must be recorded again).
  uint64_t generation() const { return generation_; }

 private:
  std::vector<Tensor> buffers_;  // flat u8 storage per slot
  uint64_t generation_ = 0;
};

}  // namespace turbolm
