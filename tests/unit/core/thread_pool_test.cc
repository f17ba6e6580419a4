#include "core/thread_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <stdexcept>
#include <thread>
#include <vector>

namespace turbolm {
namespace {

TEST(ThreadPool, CoversRangeExactlyOnce) {
  ThreadPool pool(4);
  for (int64_t n : {1, 3, 7, 64, 1000, 1001}) {
    for (int64_t grain : {1, 8, 64}) {
      std::vector<std::atomic<int>> hits(n);
      pool.parallel_for(
          n,
          [&](int64_t b, int64_t e) {
            if (grain > 1 && e != n) {
              EXPECT_EQ((e - b) % grain, 0);
            }
            for (int64_t i = b; i < e; ++i) hits[i]++;
          },
          grain);
      for (int64_t i = 0; i < n; ++i) ASSERT_EQ(hits[i].load(), 1) << "n=" << n << " i=" << i;
    }
  }
}

TEST(ThreadPool, ManyConsecutiveJobs) {
  ThreadPool pool(3);
  std::atomic<int64_t> sum{0};
  for (int round = 0; round < 2000; ++round) pool.parallel_for(30, [&](int64_t b, int64_t e) { sum += e - b; });
  EXPECT_EQ(sum.load(), 2000 * 30);
}

TEST(ThreadPool, RethrowsChunkException) {
  ThreadPool pool(2);
  EXPECT_THROW(pool.parallel_for(100,
                                 [](int64_t b, int64_t) {
                                   if (b > 0) throw std::runtime_error("chunk failed");
                                 }),
               std::runtime_error);
  // The pool stays usable.
  std::atomic<int> calls{0};
  pool.parallel_for(100, [&](int64_t, int64_t) { calls++; });
  EXPECT_EQ(calls.load(), 2);
}

TEST(ThreadPool, DynamicCoversRangeExactlyOnceInChunks) {
  for (int threads : {1, 2, 4}) {
    ThreadPool pool(threads);
    for (int64_t n : {1, 3, 64, 1001}) {
      for (int64_t chunk : {1, 7, 64, 5000}) {
        std::vector<std::atomic<int>> hits(n);
        pool.parallel_for_dynamic(n, chunk, [&](int64_t b, int64_t e) {
          EXPECT_EQ(b % chunk, 0);
          EXPECT_TRUE(e - b == chunk || e == n) << b << ".." << e;
          for (int64_t i = b; i < e; ++i) hits[i]++;
        });
        for (int64_t i = 0; i < n; ++i) ASSERT_EQ(hits[i].load(), 1) << "n=" << n << " chunk=" << chunk;
      }
    }
  }
}

// The thread holding the first chunk waits until every other chunk is done: only dynamic claiming lets the other
// thread take them all (fixed halves would leave half of them behind the waiting thread).
TEST(ThreadPool, DynamicChunksFlowAroundABusyThread) {
  ThreadPool pool(2);
  constexpr int64_t kChunks = 100;
  std::atomic<int64_t> done{0};
  bool others_finished = false;
  pool.parallel_for_dynamic(kChunks, 1, [&](int64_t b, int64_t) {
    if (b == 0) {
      const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
      while (done.load() < kChunks - 1 && std::chrono::steady_clock::now() < deadline) std::this_thread::yield();
      others_finished = done.load() == kChunks - 1;
    } else {
      done++;
    }
  });
  EXPECT_TRUE(others_finished);
}

TEST(ThreadPool, DynamicRethrowsChunkException) {
  ThreadPool pool(2);
  EXPECT_THROW(pool.parallel_for_dynamic(100, 10,
                                         [](int64_t b, int64_t) {
                                           if (b == 50) throw std::runtime_error("chunk failed");
                                         }),
               std::runtime_error);
}

TEST(ThreadPool, SingleThreadRunsInline) {
  ThreadPool pool(1);
  int64_t seen_b = -1, seen_e = -1;
  pool.parallel_for(10, [&](int64_t b, int64_t e) { seen_b = b, seen_e = e; });
  EXPECT_EQ(seen_b, 0);
  EXPECT_EQ(seen_e, 10);
}

}  // namespace
}  // namespace turbolm
