// Tensor: shape + strides (in elements) + dtype + device over shared storage. Views never copy.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/device.h"
#include "core/dtype.h"
#include "core/error.h"

namespace turbolm {

using Shape = std::vector<int64_t>;

std::string shape_to_string(const Shape& shape);
int64_t shape_numel(const Shape& shape);

class Tensor {
 public:
  Tensor() = default;

  // Uninitialised contiguous storage from allocator_for(device).
  static Tensor empty(const Shape& shape, DType dtype, Device device = Device::cpu());
  // Zero-filled host tensor.
  static Tensor zeros(const Shape& shape, DType dtype);
  // A contiguous tensor over memory someone else owns; `owner` keeps it alive (e.g. a memory map).
  static Tensor wrap(void* data, const Shape& shape, DType dtype, Device device, std::shared_ptr<void> owner);

  bool defined() const { return data_ != nullptr || !shape_.empty(); }
  const Shape& shape() const { return shape_; }
  const Shape& strides() const { return strides_; }
  int rank() const { return static_cast<int>(shape_.size()); }
  int64_t dim(int i) const;  // negative i counts from the end
  int64_t stride(int i) const;
  int64_t numel() const { return shape_numel(shape_); }
  DType dtype() const { return dtype_; }
  Device device() const { return device_; }
  size_t nbytes() const { return dtype_bytes(dtype_, static_cast<size_t>(numel())); }
  bool is_contiguous() const;

  void* data() const { return data_; }
  template <typename T>
  T* data() const {
    TLM_CHECK(DTypeOf<T>::value == dtype_)
        << "tensor holds " << dtype_name(dtype_) << ", accessed as " << dtype_name(DTypeOf<T>::value);
    return static_cast<T*>(data_);
  }

  // Same storage, new shape (contiguous tensors only; one dim may be -1).
  Tensor view(const Shape& shape) const;
  // The first bytes of this contiguous tensor's storage seen as `shape` x `dtype` (must fit; no copy).
  Tensor reinterpret(const Shape& shape, DType dtype) const;
  // Elements [start, end) along `dim` (no copy).
  Tensor slice(int dim, int64_t start, int64_t end) const;
  // Row i of the outermost dim, rank reduced by one.
  Tensor operator[](int64_t i) const;

  std::string to_string() const;  // "bf16[2, 64] cpu"

 private:
  std::shared_ptr<void> storage_;
  void* data_ = nullptr;
  Shape shape_;
  Shape strides_;
  DType dtype_ = DType::kF32;
  Device device_;
};

}  // namespace turbolm
