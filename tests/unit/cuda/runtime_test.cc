// Device queries, the caching allocator and host <-> device copies.
#include <gtest/gtest.h>

#include "core/allocator.h"
#include "cuda_test_util.h"
#include "kernels/cuda/cuda_runtime.h"

namespace turbolm {
namespace {

using namespace cuda_test;

TEST(CudaRuntimeTest, QueriesAnswerWithoutADevice) {
  // Must not throw on a machine without a GPU; consistent with each other where there is one.
  const int count = cuda_device_count();
  EXPECT_EQ(cuda_device_available(), count > 0);
  EXPECT_EQ(cuda_free_memory_bytes(count), 0u);  // out of range
  if (count > 0) {
    EXPECT_GT(cuda_free_memory_bytes(0), size_t{1} << 30);
    EXPECT_FALSE(cuda_device_description(0).empty());
  }
}

TEST(CudaRuntimeTest, CachingAllocatorReusesFreedBlocks) {
  TLM_REQUIRE_GPU();
  Allocator& a = allocator_for(Device::cuda(0));
  EXPECT_TRUE(a.device().is_cuda());
  void* p = a.allocate(3 << 20);
  a.deallocate(p, 3 << 20);
  void* q = a.allocate((3 << 20) - 100);  // same rounded size
  EXPECT_EQ(p, q);
  const size_t free_with_cache = cuda_free_memory_bytes(0);
  a.deallocate(q, (3 << 20) - 100);
  EXPECT_GE(cuda_free_memory_bytes(0), free_with_cache);
  a.trim();
}

TEST(CudaRuntimeTest, CopiesRoundTripThroughPinnedAndPageableMemory) {
  TLM_REQUIRE_GPU();
  const auto values = random_values(1 << 16, 5, DType::kF32);
  const Tensor host = host_tensor(values, {1 << 16}, DType::kF32);
  const Tensor device = to_gpu(host);
  Tensor device2 = Tensor::empty({1 << 16}, DType::kF32, Device::cuda(0));
  ExecContext ctx = gpu_ctx();
  copy(ctx, device, device2);
  Allocator& pinned = cuda_pinned_host_allocator();
  void* buffer = pinned.allocate(host.nbytes());
  Tensor pinned_tensor = Tensor::wrap(buffer, {1 << 16}, DType::kF32, Device::cpu(), nullptr);
  copy(ctx, device2, pinned_tensor);
  EXPECT_EQ(values_of(pinned_tensor), values);
  pinned.deallocate(buffer, host.nbytes());
}

TEST(CudaRuntimeTest, OpsRunOnAnExplicitStream) {
  TLM_REQUIRE_GPU();
  CudaStream stream;
  ExecContext ctx = gpu_ctx();
  ctx.stream = stream.get();
  const auto a = random_values(4096, 6, DType::kBF16), b = random_values(4096, 7, DType::kBF16);
  Tensor da = Tensor::empty({4096}, DType::kBF16, Device::cuda(0)),
         db = Tensor::empty({4096}, DType::kBF16, Device::cuda(0));
  copy(ctx, host_tensor(a, {4096}, DType::kBF16), da);
  copy(ctx, host_tensor(b, {4096}, DType::kBF16), db);
  add(ctx, da, db, da);
  Tensor host = Tensor::empty({4096}, DType::kBF16);
  copy(ctx, da, host);  // returns once the host holds the sum
  std::vector<float> want(4096);
  for (size_t i = 0; i < want.size(); ++i) want[i] = round_to(a[i] + b[i], DType::kBF16);
  EXPECT_EQ(values_of(host), want);
  CudaStream moved = std::move(stream);
  EXPECT_EQ(stream.get(), nullptr);
  EXPECT_NE(moved.get(), nullptr);
}

}  // namespace
}  // namespace turbolm
