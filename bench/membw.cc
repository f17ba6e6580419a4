// STREAM-like read bandwidth: sums a 1 GiB buffer with the thread pool (see kernels/cpu/memory_bandwidth.h).
//   membw [--threads N] [--mib M]
#include <cstdio>
#include <cstdlib>
#include <string>

#include "kernels/cpu/memory_bandwidth.h"

int main(int argc, char** argv) {
  int threads = turbolm::ThreadPool::default_num_threads();
  size_t mib = 1024;
  for (int i = 1; i + 1 < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--threads") threads = std::atoi(argv[++i]);
    if (a == "--mib") mib = std::strtoull(argv[++i], nullptr, 10);
  }
  turbolm::ThreadPool pool(threads);
  std::printf("read bandwidth, %zu MiB, %d threads: %.1f GB/s\n", mib, threads,
              turbolm::cpu::measure_read_bandwidth_gbps(pool, mib << 20, 10));
  return 0;
}
