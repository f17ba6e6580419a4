#include "core/thread_pool.h"

#include <algorithm>
#include <cstdlib>
#include <string>
#include <system_error>

#include "core/error.h"

#if defined(__x86_64__)
#include <immintrin.h>
#define TLM_CPU_RELAX() _mm_pause()
#else
#define TLM_CPU_RELAX() std::this_thread::yield()
#endif

namespace turbolm {
namespace {
// Spinning keeps the wake-up latency of back-to-back ops in the microseconds; beyond that, waiting threads
// yield or sleep, so an oversubscribed machine (parallel test runs, other processes) does not starve the
// thread that holds the remaining work.
constexpr int kSpinIterations = 4000;

template <typename Done>
void spin_then_yield(Done done) {
  for (int i = 0; i < kSpinIterations; ++i) {
    if (done()) return;
    TLM_CPU_RELAX();
  }
  while (!done()) std::this_thread::yield();
}
}  // namespace

ThreadPool::ThreadPool(int num_threads) {
  TLM_CHECK_GE(num_threads, 1);
  try {
    for (int i = 1; i < num_threads; ++i) workers_.emplace_back([this, i] { worker_loop(i); });
  } catch (const std::system_error& e) {
    // The threads already started wait for work: stop them, or unwinding destroys what they wait on.
    const size_t started = workers_.size() + 1;
    stop_workers();
    TLM_FAIL(kOutOfMemory) << "cannot start " << num_threads << " threads (" << started << " started): " << e.what()
                           << "; ask for fewer (--num-threads)";
  }
}

ThreadPool::~ThreadPool() { stop_workers(); }

void ThreadPool::stop_workers() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_.store(true);
    generation_.fetch_add(1);
  }
  wake_.notify_all();
  for (auto& t : workers_) t.join();
}

int ThreadPool::default_num_threads() {
  if (const char* env = std::getenv("TURBOLM_NUM_THREADS"); env != nullptr && *env != '\0') {
    int n = std::atoi(env);
    if (n >= 1) return n;
  }
  unsigned hw = std::thread::hardware_concurrency();
  return hw == 0 ? 1 : static_cast<int>(hw);
}

ThreadPool& ThreadPool::global() {
  static ThreadPool pool(default_num_threads());
  return pool;
}

void ThreadPool::run_chunk(int index) {
  const int parts = num_threads();
  const int64_t blocks = (job_n_ + job_grain_ - 1) / job_grain_;
  const int64_t begin = blocks * index / parts * job_grain_;
  const int64_t end = std::min(job_n_, blocks * (index + 1) / parts * job_grain_);
  if (begin >= end) return;
  try {
    (*job_)(begin, end);
  } catch (...) {
    std::lock_guard<std::mutex> lock(error_mutex_);
    if (!error_) error_ = std::current_exception();
  }
}

void ThreadPool::worker_loop(int index) {
  uint64_t seen = 0;
  while (true) {
    int spins = 0;
    while (generation_.load(std::memory_order_acquire) == seen && spins < kSpinIterations) {
      TLM_CPU_RELAX();
      ++spins;
    }
    if (generation_.load(std::memory_order_acquire) == seen) {
      std::unique_lock<std::mutex> lock(mutex_);
      wake_.wait(lock, [&] { return generation_.load(std::memory_order_acquire) != seen; });
    }
    seen = generation_.load(std::memory_order_acquire);
    if (stop_.load()) return;
    run_chunk(index);
    pending_.fetch_sub(1, std::memory_order_acq_rel);
  }
}

void ThreadPool::parallel_for(int64_t n, const std::function<void(int64_t, int64_t)>& fn, int64_t grain) {
  if (n <= 0) return;
  if (grain < 1) grain = 1;
  if (workers_.empty() || n <= grain) {
    fn(0, n);
    return;
  }
  job_ = &fn;
  job_n_ = n;
  job_grain_ = grain;
  error_ = nullptr;
  pending_.store(static_cast<int>(workers_.size()), std::memory_order_release);
  {
    std::lock_guard<std::mutex> lock(mutex_);
    generation_.fetch_add(1, std::memory_order_acq_rel);
  }
  wake_.notify_all();
  run_chunk(0);
  spin_then_yield([&] { return pending_.load(std::memory_order_acquire) == 0; });
  job_ = nullptr;
  if (error_) std::rethrow_exception(error_);
}

void ThreadPool::parallel_for_dynamic(int64_t n, int64_t chunk, const std::function<void(int64_t, int64_t)>& fn) {
  if (n <= 0) return;
  if (chunk < 1) chunk = 1;
  const int64_t chunks = (n + chunk - 1) / chunk;
  if (workers_.empty() || chunks == 1) {
    fn(0, n);
    return;
  }
  std::atomic<int64_t> next{0};
  parallel_for(std::min<int64_t>(num_threads(), chunks), [&](int64_t, int64_t) {
    for (int64_t c = next.fetch_add(1, std::memory_order_relaxed); c < chunks;
         c = next.fetch_add(1, std::memory_order_relaxed))
      fn(c * chunk, std::min(n, (c + 1) * chunk));
  });
}

}  // namespace turbolm
