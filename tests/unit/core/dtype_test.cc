#include "core/dtype.h"

#include <gtest/gtest.h>

namespace turbolm {
namespace {

TEST(DType, SizesAndNames) {
  EXPECT_EQ(dtype_bits(DType::kBF16), 16);
  EXPECT_EQ(dtype_bytes(DType::kF32, 3), 12u);
  EXPECT_EQ(dtype_bytes(DType::kU4, 3), 2u);  // packed, rounded up
  EXPECT_EQ(dtype_name(DType::kF8E4M3), "f8_e4m3");
  EXPECT_TRUE(dtype_is_float(DType::kBF16));
  EXPECT_FALSE(dtype_is_float(DType::kI32));
}

TEST(DType, SafetensorsSpellings) {
  EXPECT_EQ(dtype_from_safetensors("BF16"), DType::kBF16);
  EXPECT_EQ(dtype_from_safetensors("F8_E5M2"), DType::kF8E5M2);
  EXPECT_EQ(dtype_from_safetensors("BOOL"), DType::kBool);
  EXPECT_FALSE(dtype_from_safetensors("F4").has_value());
  EXPECT_FALSE(dtype_from_safetensors("bf16").has_value());
  EXPECT_EQ(dtype_safetensors_name(DType::kI64), "I64");
}

TEST(DType, TorchSpellings) {
  EXPECT_EQ(dtype_from_torch_name("bfloat16"), DType::kBF16);
  EXPECT_EQ(dtype_from_torch_name("torch.float16"), DType::kF16);
  EXPECT_EQ(dtype_from_torch_name("float32"), DType::kF32);
  EXPECT_FALSE(dtype_from_torch_name("int8").has_value());
}

}  // namespace
}  // namespace turbolm
