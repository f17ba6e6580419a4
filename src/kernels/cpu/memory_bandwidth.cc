#include "kernels/cpu/memory_bandwidth.h"

#include <algorithm>
#include <chrono>
#include <vector>

#include "core/tensor.h"
#include "kernels/cpu/vec.h"

namespace turbolm::cpu {

double measure_read_bandwidth_gbps(ThreadPool& pool, size_t bytes, int repetitions) {
  const int64_t n = static_cast<int64_t>(bytes / sizeof(float));
  Tensor buffer = Tensor::empty({n}, DType::kF32);
  float* data = buffer.data<float>();
  pool.parallel_for(n, [&](int64_t b, int64_t e) { std::fill(data + b, data + e, 1.0f); });
  const VecOps& v = vec_ops(active_isa());
  const int threads = pool.num_threads();
  std::vector<float> sums(threads);
  double best = 0.0;
  for (int r = 0; r < repetitions; ++r) {
    const auto start = std::chrono::steady_clock::now();
    pool.parallel_for(threads, [&](int64_t t0, int64_t t1) {
      for (int64_t t = t0; t < t1; ++t) {
        const int64_t b = n * t / threads, e = n * (t + 1) / threads;
        sums[t] = v.sum_squares(data + b, e - b);  // one FMA per 16 floats: bound by memory, not compute
      }
    });
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    best = std::max(best, static_cast<double>(n) * sizeof(float) / seconds / 1e9);
  }
  volatile float sink = sums[0];  // keep the sums observable
  (void)sink;
  return best;
}

}  // namespace turbolm::cpu
