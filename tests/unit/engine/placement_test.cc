// Engine placement defaults: the device's max_batch_size (LMDeploy's table) and its use by the engine.
#include "engine/placement.h"

#include <gtest/gtest.h>

#include <limits>
#include <string>

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

const std::string kStoriesModel = std::string(TURBOLM_SHARED_DIR) + "/models/stories260K-hf";

// A small engine on the CPU for the stories model; tests change one field at a time.
EngineConfig small_cpu_config() {
  EngineConfig config;
  config.device = "cpu";
  config.num_threads = 1;
  config.cache_max_entry_count = 64;
  return config;
}

TEST(DefaultMaxBatchSizeTest, EngineResolvesZeroAndRejectsNegative) {
  EngineConfig config = small_cpu_config();
  ASSERT_EQ(config.max_batch_size, 0);  // the device's default unless set
  EXPECT_EQ(Engine::create(kStoriesModel, config)->config().max_batch_size, 128);
  config.max_batch_size = 3;
  EXPECT_EQ(Engine::create(kStoriesModel, config)->config().max_batch_size, 3);
  config.max_batch_size = -1;
  EXPECT_THROW(Engine::create(kStoriesModel, config), Error);
}

// A block count must fit the memory there is (1e12 blocks used to end in std::bad_alloc), and be finite.
TEST(KvPoolBlocksTest, CountsAreCheckedAgainstAvailableMemory) {
  KvPoolRequest r{.cache_max_entry_count = 100, .bytes_per_block = 1 << 20, .available_bytes = size_t{1} << 30};
  EXPECT_EQ(kv_pool_blocks(r), 100);
  r.cache_max_entry_count = 1e12;
  try {
    kv_pool_blocks(r);
    ADD_FAILURE() << "accepted 1e12 blocks";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument);
    EXPECT_NE(std::string(e.what()).find("GiB are available"), std::string::npos) << e.what();
  }
  r.available_bytes = 0;  // unknown: a sane count is taken as is, an absurd one is still refused
  r.cache_max_entry_count = 100;
  EXPECT_EQ(kv_pool_blocks(r), 100);
  r.cache_max_entry_count = 1e300;
  EXPECT_THROW(kv_pool_blocks(r), Error);
  for (double bad : {0.0, -1.0, std::numeric_limits<double>::infinity(), std::numeric_limits<double>::quiet_NaN()}) {
    r.cache_max_entry_count = bad;
    EXPECT_THROW(kv_pool_blocks(r), Error) << bad;
  }
}

// Engine flags with no meaning below zero are refused, not read as "the default".
TEST(DefaultMaxBatchSizeTest, EngineRejectsNegativeSessionLenAndThreads) {
  EngineConfig config = small_cpu_config();
  config.session_len = -1;
  EXPECT_THROW(Engine::create(kStoriesModel, config), Error);
  config.session_len = 0;
  config.num_threads = -1;
  EXPECT_THROW(Engine::create(kStoriesModel, config), Error);
  config.num_threads = 5000;
  EXPECT_THROW(Engine::create(kStoriesModel, config), Error);
}

// --device cuda where no GPU can be used fails up front as unsupported, naming the flag (the first CUDA call deep
// in the engine used to report "CUDA driver version is insufficient"). On a machine with a GPU it loads.
// Without a visible GPU (or in a build without the CUDA backend) --device cuda is refused when the engine is
// created, with a message that says which of the two it is; with a GPU there is nothing to refuse.
TEST(DefaultMaxBatchSizeTest, CudaDeviceWithoutAGpuIsAClearError) {
  EngineConfig config = small_cpu_config();
  config.device = "cuda";
  try {
    Engine::create(kStoriesModel, config);
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kUnsupported) << e.what();
    const std::string what = e.what();
    EXPECT_TRUE(what.find("no CUDA GPU is visible") != std::string::npos ||
                what.find("no CUDA backend") != std::string::npos)
        << what;
    return;
  }
  GTEST_SKIP() << "a CUDA GPU is visible: the engine was created on it";
}

}  // namespace
}  // namespace turbolm
