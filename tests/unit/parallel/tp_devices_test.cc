// --tp is validated before any weights load.
#include "parallel/tp_devices.h"

#include <gtest/gtest.h>

#include "core/error.h"

namespace turbolm {
namespace {

ErrorCode code_of(int tp, Device device) {
  try {
    check_tensor_parallel_devices(tp, device);
  } catch (const Error& e) {
    return e.code();
  }
  return ErrorCode::kInternal;  // stands for "did not throw"
}

TEST(TpDevices, Tp1AlwaysRuns) {
  EXPECT_NO_THROW(check_tensor_parallel_devices(1, Device::cpu()));
  EXPECT_NO_THROW(check_tensor_parallel_devices(1, Device::cuda(0)));
}

TEST(TpDevices, BadDegreeIsInvalid) { EXPECT_EQ(code_of(0, Device::cpu()), ErrorCode::kInvalidArgument); }

TEST(TpDevices, CpuIsUnsupported) { EXPECT_EQ(code_of(2, Device::cpu()), ErrorCode::kUnsupported); }

TEST(TpDevices, MoreRanksThanGpusFailClearly) {
#if TURBOLM_WITH_NCCL
  EXPECT_EQ(code_of(1024, Device::cuda(0)), ErrorCode::kInvalidArgument);
#else
  EXPECT_EQ(code_of(2, Device::cuda(0)), ErrorCode::kUnsupported);
#endif
}

}  // namespace
}  // namespace turbolm
