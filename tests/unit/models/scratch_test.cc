// ScratchBuffers: storage reused while it is large enough; the generation (what recorded CUDA graphs compare)
// changes exactly when a slot's storage moves.
#include "models/scratch.h"

#include <gtest/gtest.h>

namespace turbolm {
namespace {

TEST(ScratchBuffers, GenerationChangesOnlyWhenStorageMoves) {
  ScratchBuffers scratch;
  const uint64_t g0 = scratch.generation();
  Tensor a = scratch.get(0, {4, 8}, DType::kF32, Device::cpu());
  const uint64_t g1 = scratch.generation();
  EXPECT_NE(g1, g0);
  Tensor same = scratch.get(0, {2, 8}, DType::kF32, Device::cpu());  // smaller: same storage
  EXPECT_EQ(same.data(), a.data());
  EXPECT_EQ(scratch.generation(), g1);
  Tensor other = scratch.get(1, {3}, DType::kBF16, Device::cpu());  // a new slot allocates
  EXPECT_NE(scratch.generation(), g1);
  const uint64_t g2 = scratch.generation();
  Tensor grown = scratch.get(0, {64, 8}, DType::kF32, Device::cpu());  // larger: moves
  EXPECT_NE(scratch.generation(), g2);
  EXPECT_EQ(grown.numel(), 64 * 8);
  (void)other;
}

}  // namespace
}  // namespace turbolm
