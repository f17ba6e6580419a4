#include "core/tensor.h"

#include <cstring>
#include <sstream>

#include "core/allocator.h"

namespace turbolm {
namespace {

Shape contiguous_strides(const Shape& shape) {
  Shape strides(shape.size());
  int64_t s = 1;
  for (int i = static_cast<int>(shape.size()) - 1; i >= 0; --i) {
    strides[i] = s;
    s *= shape[i];
  }
  return strides;
}

void check_shape(const Shape& shape) {
  for (int64_t d : shape) TLM_CHECK_GE(d, 0) << "negative dimension in " << shape_to_string(shape);
}

}  // namespace

std::string shape_to_string(const Shape& shape) {
  std::ostringstream s;
  s << '[';
  for (size_t i = 0; i < shape.size(); ++i) s << (i ? ", " : "") << shape[i];
  s << ']';
  return s.str();
}

int64_t shape_numel(const Shape& shape) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

Tensor Tensor::empty(const Shape& shape, DType dtype, Device device) {
  check_shape(shape);
  Tensor t;
  t.shape_ = shape;
  t.strides_ = contiguous_strides(shape);
  t.dtype_ = dtype;
  t.device_ = device;
  const size_t bytes = t.nbytes();
  Allocator* allocator = &allocator_for(device);
  void* ptr = allocator->allocate(bytes);
  t.storage_ = std::shared_ptr<void>(ptr, [allocator, bytes](void* p) { allocator->deallocate(p, bytes); });
  t.data_ = ptr;
  return t;
}

Tensor Tensor::zeros(const Shape& shape, DType dtype) {
  Tensor t = empty(shape, dtype, Device::cpu());
  if (t.nbytes() > 0) std::memset(t.data_, 0, t.nbytes());
  return t;
}

Tensor Tensor::wrap(void* data, const Shape& shape, DType dtype, Device device, std::shared_ptr<void> owner) {
  check_shape(shape);
  Tensor t;
  t.shape_ = shape;
  t.strides_ = contiguous_strides(shape);
  t.dtype_ = dtype;
  t.device_ = device;
  t.storage_ = std::move(owner);
  t.data_ = data;
  return t;
}

int64_t Tensor::dim(int i) const {
  if (i < 0) i += rank();
  TLM_CHECK(i >= 0 && i < rank()) << "dim " << i << " of " << to_string();
  return shape_[i];
}

int64_t Tensor::stride(int i) const {
  if (i < 0) i += rank();
  TLM_CHECK(i >= 0 && i < rank()) << "stride " << i << " of " << to_string();
  return strides_[i];
}

bool Tensor::is_contiguous() const { return strides_ == contiguous_strides(shape_); }

Tensor Tensor::view(const Shape& shape) const {
  TLM_CHECK(is_contiguous()) << "view of a non-contiguous tensor " << to_string();
  Shape resolved = shape;
  int infer = -1;
  int64_t known = 1;
  for (size_t i = 0; i < resolved.size(); ++i) {
    if (resolved[i] == -1) {
      TLM_CHECK_EQ(infer, -1) << "two -1 dims in view " << shape_to_string(shape);
      infer = static_cast<int>(i);
    } else {
      known *= resolved[i];
    }
  }
  if (infer >= 0) resolved[infer] = known == 0 ? 0 : numel() / known;
  TLM_CHECK_EQ(shape_numel(resolved), numel()) << "view " << shape_to_string(shape) << " of " << to_string();
  Tensor t = *this;
  t.shape_ = resolved;
  t.strides_ = contiguous_strides(resolved);
  return t;
}

Tensor Tensor::reinterpret(const Shape& shape, DType dtype) const {
  TLM_CHECK(is_contiguous()) << "reinterpret of a non-contiguous tensor " << to_string();
  check_shape(shape);
  TLM_CHECK_LE(dtype_bytes(dtype, static_cast<size_t>(shape_numel(shape))), nbytes())
      << "reinterpret as " << dtype_name(dtype) << shape_to_string(shape) << " of " << to_string();
  Tensor t = *this;
  t.shape_ = shape;
  t.strides_ = contiguous_strides(shape);
  t.dtype_ = dtype;
  return t;
}

Tensor Tensor::slice(int d, int64_t start, int64_t end) const {
  if (d < 0) d += rank();
  TLM_CHECK(d >= 0 && d < rank()) << "slice dim " << d << " of " << to_string();
  TLM_CHECK(0 <= start && start <= end && end <= shape_[d])
      << "slice [" << start << ", " << end << ") of dim " << d << " in " << to_string();
  TLM_CHECK(dtype_bits(dtype_) % 8 == 0) << "slicing packed 4-bit tensors is not supported";
  Tensor t = *this;
  t.shape_[d] = end - start;
  t.data_ = static_cast<char*>(data_) + start * strides_[d] * (dtype_bits(dtype_) / 8);
  return t;
}

Tensor Tensor::operator[](int64_t i) const {
  TLM_CHECK(rank() >= 1) << "indexing a scalar tensor";
  Tensor t = slice(0, i, i + 1);
  t.shape_.erase(t.shape_.begin());
  t.strides_.erase(t.strides_.begin());
  return t;
}

std::string Tensor::to_string() const {
  return std::string(dtype_name(dtype_)) + shape_to_string(shape_) + " " + device_.to_string();
}

}  // namespace turbolm
