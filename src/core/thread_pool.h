// A fixed pool of worker threads for data-parallel loops in CPU kernels.
// parallel_for is called hundreds of times per decoded token, so workers spin briefly before sleeping.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace turbolm {

class ThreadPool {
 public:
  // num_threads counts the calling thread: 1 means no workers.
  explicit ThreadPool(int num_threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int num_threads() const { return static_cast<int>(workers_.size()) + 1; }

  // Splits [0, n) into num_threads contiguous chunks aligned to `grain` and runs fn(begin, end) on each.
  // Blocks until all chunks finished; the first exception thrown by a chunk is rethrown here.
  // Not reentrant: fn must not call parallel_for on the same pool.
  void parallel_for(int64_t n, const std::function<void(int64_t, int64_t)>& fn, int64_t grain = 1);

  // Cuts [0, n) into chunks of `chunk` (the last may be shorter) that threads claim one at a time until none is
  // left, and runs fn(begin, end) on each. For memory-bound loops on shared machines: a thread slowed down by
  // another process (a busy neighbour on a VM) takes fewer chunks instead of holding up the whole op, as the
  // slowest of parallel_for's fixed shares does. Same blocking, exception and reentrancy rules as parallel_for.
  void parallel_for_dynamic(int64_t n, int64_t chunk, const std::function<void(int64_t, int64_t)>& fn);

  // The process-wide pool sized by TURBOLM_NUM_THREADS or the number of cores.
  static ThreadPool& global();
  static int default_num_threads();

 private:
  void stop_workers();  // wakes the workers with stop_ set and joins them
  void worker_loop(int index);
  void run_chunk(int index);

  std::vector<std::thread> workers_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::atomic<uint64_t> generation_{0};
  std::atomic<int> pending_{0};
  std::atomic<bool> stop_{false};
  // The current job (valid while pending_ > 0).
  const std::function<void(int64_t, int64_t)>* job_ = nullptr;
  int64_t job_n_ = 0;
  int64_t job_grain_ = 1;
  std::exception_ptr error_;
  std::mutex error_mutex_;
};

}  // namespace turbolm
