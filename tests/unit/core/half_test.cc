#include "core/half.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

namespace turbolm {
namespace {

TEST(Half, Bf16RoundsToNearestEven) {
  EXPECT_EQ(float_to_bf16(1.0f).bits, 0x3f80);
  // 1 + 2^-8 is exactly half-way between bf16 1.0 and 1.0078125: ties to even (1.0).
  EXPECT_EQ(float_to_bf16(1.00390625f).bits, 0x3f80);
  // 1 + 3*2^-8 is half-way between 1.0078125 (odd) and 1.015625 (even): rounds up.
  EXPECT_EQ(float_to_bf16(1.01171875f).bits, 0x3f82);
  EXPECT_TRUE(std::isnan(bf16_to_float(float_to_bf16(std::numeric_limits<float>::quiet_NaN()))));
  EXPECT_EQ(bf16_to_float(bf16{0xc040}), -3.0f);
}

TEST(Half, F16RoundTripsEveryValue) {
  for (uint32_t bits = 0; bits < 0x10000; ++bits) {
    f16 h{static_cast<uint16_t>(bits)};
    float f = f16_to_float(h);
    if (std::isnan(f)) continue;
    EXPECT_EQ(float_to_f16(f).bits, h.bits) << "bits " << bits;
  }
}

TEST(Half, F16KnownValues) {
  EXPECT_EQ(f16_to_float(f16{0x3c00}), 1.0f);
  EXPECT_EQ(f16_to_float(f16{0x0001}), std::ldexp(1.0f, -24));  // smallest subnormal
  EXPECT_EQ(float_to_f16(65520.0f).bits, 0x7c00);               // rounds to inf
  EXPECT_EQ(float_to_f16(65504.0f).bits, 0x7bff);
  EXPECT_EQ(float_to_f16(std::ldexp(1.0f, -25)).bits, 0x0000);  // ties to even (zero)
  EXPECT_EQ(float_to_f16(std::ldexp(3.0f, -26)).bits, 0x0001);
}

}  // namespace
}  // namespace turbolm
