#include "core/tensor.h"

#include <gtest/gtest.h>

namespace turbolm {
namespace {

TEST(Tensor, EmptyIsContiguous) {
  Tensor t = Tensor::empty({2, 3, 4}, DType::kBF16);
  EXPECT_EQ(t.numel(), 24);
  EXPECT_EQ(t.nbytes(), 48u);
  EXPECT_EQ(t.strides(), (Shape{12, 4, 1}));
  EXPECT_TRUE(t.is_contiguous());
  EXPECT_EQ(reinterpret_cast<uintptr_t>(t.data()) % 64, 0u);
  EXPECT_EQ(t.to_string(), "bf16[2, 3, 4] cpu");
}

TEST(Tensor, ViewSharesStorage) {
  Tensor t = Tensor::zeros({4, 6}, DType::kF32);
  Tensor v = t.view({-1, 3});
  EXPECT_EQ(v.shape(), (Shape{8, 3}));
  v.data<float>()[5] = 7.0f;
  EXPECT_EQ(t.data<float>()[5], 7.0f);
  EXPECT_THROW(t.view({5, 5}), Error);
}

TEST(Tensor, SliceAndIndex) {
  Tensor t = Tensor::zeros({4, 6}, DType::kF32);
  for (int i = 0; i < 24; ++i) t.data<float>()[i] = static_cast<float>(i);
  Tensor rows = t.slice(0, 1, 3);
  EXPECT_EQ(rows.shape(), (Shape{2, 6}));
  EXPECT_EQ(rows.data<float>()[0], 6.0f);
  Tensor cols = t.slice(1, 2, 4);
  EXPECT_FALSE(cols.is_contiguous());
  EXPECT_EQ(cols.data<float>()[0], 2.0f);
  EXPECT_EQ(cols.stride(0), 6);
  Tensor row = t[3];
  EXPECT_EQ(row.shape(), (Shape{6}));
  EXPECT_EQ(row.data<float>()[1], 19.0f);
  EXPECT_THROW(t.slice(0, 3, 5), Error);
}

TEST(Tensor, ReinterpretSharesStorage) {
  Tensor bytes = Tensor::zeros({64}, DType::kU8);
  Tensor floats = bytes.reinterpret({2, 4}, DType::kF32);
  EXPECT_EQ(floats.shape(), (Shape{2, 4}));
  floats.data<float>()[0] = 1.0f;
  EXPECT_EQ(bytes.data<uint8_t>()[3], 0x3f);
  EXPECT_THROW(bytes.reinterpret({5, 4}, DType::kF32), Error);
}

TEST(Tensor, TypedAccessChecksDType) {
  Tensor t = Tensor::zeros({2}, DType::kBF16);
  EXPECT_NO_THROW(t.data<bf16>());
  EXPECT_THROW(t.data<float>(), Error);
}

TEST(Tensor, WrapKeepsOwnerAlive) {
  auto owner = std::make_shared<std::vector<float>>(6, 1.5f);
  Tensor t = Tensor::wrap(owner->data(), {2, 3}, DType::kF32, Device::cpu(), owner);
  std::weak_ptr<std::vector<float>> weak = owner;
  owner.reset();
  EXPECT_FALSE(weak.expired());
  EXPECT_EQ(t.data<float>()[4], 1.5f);
}

TEST(Tensor, CudaWithoutBackendIsUnsupported) {
  try {
    Tensor::empty({2}, DType::kF32, Device::cuda(0));
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kUnsupported);
  }
}

}  // namespace
}  // namespace turbolm
