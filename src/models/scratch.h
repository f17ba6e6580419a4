// Reusable per-step buffers: a forward pass asks for the same slots every step, so memory is allocated once
// for the largest step seen instead of on every call.
#pragma once

#include <vector>

#include "core/tensor.h"

namespace turbolm {

class ScratchBuffers {
 public:
  // A contiguous tensor of `shape` for `slot`, reusing the slot's storage when it is large enough.
  // The contents are unspecified. Valid until the same slot is requested again with a larger size.
  Tensor get(int slot, const Shape& shape, DType dtype, Device device);

 private:
  std::vector<Tensor> buffers_;  // flat u8 storage per slot
};

}  // namespace turbolm
