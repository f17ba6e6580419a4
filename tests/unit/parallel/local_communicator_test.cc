// The in-process group the CPU tensor-parallel tests rely on: sums and gathers across rank threads.
#include "parallel/local_communicator.h"

#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <thread>

#include "core/half.h"

namespace turbolm {
namespace {

void on_ranks(int n, const std::function<void(int)>& fn) {
  std::vector<std::thread> threads;
  for (int r = 0; r < n; ++r) threads.emplace_back(fn, r);
  for (auto& t : threads) t.join();
}

TEST(LocalCommunicator, AllReduceSumsF32InPlaceOnEveryRank) {
  constexpr int kRanks = 3;
  LocalCommunicatorGroup group(kRanks);
  std::vector<Tensor> x(kRanks);
  on_ranks(kRanks, [&](int r) {
    x[r] = Tensor::zeros({2, 3}, DType::kF32);
    for (int i = 0; i < 6; ++i) x[r].data<float>()[i] = static_cast<float>((r + 1) * i);
    for (int round = 0; round < 2; ++round) group.rank(r).all_reduce_sum(ExecContext{}, x[r]);  // reuses buffers
  });
  for (int r = 0; r < kRanks; ++r) {
    EXPECT_EQ(group.rank(r).rank(), r);
    EXPECT_EQ(group.rank(r).size(), kRanks);
    for (int i = 0; i < 6; ++i) EXPECT_EQ(x[r].data<float>()[i], 3 * 6.0f * i) << "rank " << r << " element " << i;
  }
}

TEST(LocalCommunicator, AllReduceSumsBf16InF32) {
  LocalCommunicatorGroup group(2);
  std::vector<Tensor> x(2);
  on_ranks(2, [&](int r) {
    x[r] = Tensor::zeros({1}, DType::kBF16);
    x[r].data<bf16>()[0] = float_to_bf16(r == 0 ? 256.0f : 1.0f);
    group.rank(r).all_reduce_sum(ExecContext{}, x[r]);
  });
  // 257 rounds to 256 in bf16 (8 mantissa bits), identically on both ranks.
  for (int r = 0; r < 2; ++r) EXPECT_EQ(bf16_to_float(x[r].data<bf16>()[0]), 256.0f);
}

TEST(LocalCommunicator, AllGatherPlacesEachRankInItsColumnBlock) {
  constexpr int kRanks = 2;
  LocalCommunicatorGroup group(kRanks);
  std::vector<Tensor> full(kRanks);
  on_ranks(kRanks, [&](int r) {
    Tensor shard = Tensor::zeros({3, 2}, DType::kF32);  // [R=3, C=2]: value = 100 * rank + 10 * row + col
    for (int row = 0; row < 3; ++row)
      for (int col = 0; col < 2; ++col) shard.data<float>()[row * 2 + col] = 100.0f * r + 10.0f * row + col;
    full[r] = Tensor::zeros({3, 4}, DType::kF32);
    group.rank(r).all_gather(ExecContext{}, shard, full[r]);
  });
  const std::vector<float> expected = {0, 1, 100, 101, 10, 11, 110, 111, 20, 21, 120, 121};
  for (int r = 0; r < kRanks; ++r) {
    EXPECT_EQ(std::vector<float>(full[r].data<float>(), full[r].data<float>() + 12), expected) << "rank " << r;
  }
}

TEST(LocalCommunicator, AllGatherRejectsAWrongOutputShape) {
  LocalCommunicatorGroup group(1);
  Tensor shard = Tensor::zeros({2, 2}, DType::kF32), full = Tensor::zeros({2, 3}, DType::kF32);
  EXPECT_THROW(group.rank(0).all_gather(ExecContext{}, shard, full), Error);
}

TEST(LocalCommunicator, AbortReleasesWaitingRanksAndRecoverRestoresTheGroup) {
  constexpr int kRanks = 3;
  LocalCommunicatorGroup group(kRanks);
  std::vector<ErrorCode> codes(2, ErrorCode::kInternal);
  std::vector<std::thread> waiting;
  for (int r = 0; r < 2; ++r) {  // rank 2 never joins: without abort() these would wait forever
    waiting.emplace_back([&, r] {
      Tensor x = Tensor::zeros({4}, DType::kF32);
      try {
        group.rank(r).all_reduce_sum(ExecContext{}, x);
      } catch (const Error& e) {
        codes[r] = e.code();
      }
    });
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(20));  // usually inside the collective by now
  group.abort();
  for (auto& t : waiting) t.join();
  EXPECT_EQ(codes, std::vector<ErrorCode>(2, ErrorCode::kCancelled));

  EXPECT_TRUE(group.recover());
  std::vector<float> sums(kRanks);
  on_ranks(kRanks, [&](int r) {
    Tensor x = Tensor::zeros({1}, DType::kF32);
    x.data<float>()[0] = static_cast<float>(r + 1);
    group.rank(r).all_reduce_sum(ExecContext{}, x);
    sums[r] = x.data<float>()[0];
  });
  EXPECT_EQ(sums, std::vector<float>(kRanks, 6.0f));
}

TEST(LocalCommunicator, RejectsAnEmptyGroup) { EXPECT_THROW(LocalCommunicatorGroup(0), Error); }

}  // namespace
}  // namespace turbolm
