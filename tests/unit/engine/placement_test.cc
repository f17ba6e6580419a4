// Engine placement defaults: the device's max_batch_size (LMDeploy's table) and its use by the engine.
#include "engine/placement.h"

#include <gtest/gtest.h>

#include "turbolm/engine.h"
#include "turbolm/error.h"

namespace turbolm {
namespace {

TEST(DefaultMaxBatchSizeTest, FollowsLmdeployByDeviceName) {
  EXPECT_EQ(default_max_batch_size("NVIDIA H100 80GB HBM3, sm_90, 132 SMs, 79.2 GiB", true), 1024);
  EXPECT_EQ(default_max_batch_size("NVIDIA H200, sm_90, 132 SMs, 139.8 GiB", true), 1024);
  EXPECT_EQ(default_max_batch_size("NVIDIA H800", true), 1024);
  EXPECT_EQ(default_max_batch_size("NVIDIA L20Y", true), 1024);
  EXPECT_EQ(default_max_batch_size("NVIDIA A100-SXM4-80GB", true), 384);
  EXPECT_EQ(default_max_batch_size("NVIDIA A800 80GB PCIe", true), 384);
  EXPECT_EQ(default_max_batch_size("NVIDIA GeForce RTX 4090", true), 128);
  EXPECT_EQ(default_max_batch_size("", false), 128);
  EXPECT_EQ(default_max_batch_size(Device::cpu()), 128);
}

TEST(DefaultMaxBatchSizeTest, EngineResolvesZeroAndRejectsNegative) {
  const std::string model = std::string(TURBOLM_SHARED_DIR) + "/models/stories260K-hf";
  EngineConfig config;
  config.device = "cpu";
  config.num_threads = 1;
  config.cache_max_entry_count = 64;
  ASSERT_EQ(config.max_batch_size, 0);  // the device's default unless set
  EXPECT_EQ(Engine::create(model, config)->config().max_batch_size, 128);
  config.max_batch_size = 3;
  EXPECT_EQ(Engine::create(model, config)->config().max_batch_size, 3);
  config.max_batch_size = -1;
  EXPECT_THROW(Engine::create(model, config), Error);
}

}  // namespace
}  // namespace turbolm
