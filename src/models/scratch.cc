#include "models/scratch.h"

namespace turbolm {

Tensor ScratchBuffers::get(int slot, const Shape& shape, DType dtype, Device device) {
  if (slot >= static_cast<int>(buffers_.size())) buffers_.resize(slot + 1);
  const int64_t bytes = static_cast<int64_t>(dtype_bytes(dtype, static_cast<size_t>(shape_numel(shape))));
  Tensor& buffer = buffers_[slot];
  if (!buffer.defined() || buffer.numel() < bytes || buffer.device() != device) {
    // Grow by 1.5x so slowly growing batches do not reallocate every step.
    const int64_t capacity =
        buffer.defined() && buffer.device() == device ? std::max(bytes, buffer.numel() * 3 / 2) : bytes;
    buffer = Tensor::empty({std::max<int64_t>(capacity, 1)}, DType::kU8, device);
    ++generation_;
  }
  return buffer.reinterpret(shape, dtype);
}

}  // namespace turbolm
