// A STREAM-like read-bandwidth probe: the ceiling for memory-bound decoding (every weight byte is read once per
// token), used by `turbolm bench` and bench/membw.
#pragma once

#include <cstddef>

#include "core/thread_pool.h"

namespace turbolm::cpu {

// Sums a `bytes`-sized f32 buffer with all of `pool`'s threads (each its own contiguous slice, vector loads,
// several accumulators) and returns the best of `repetitions` runs in GB/s (1e9 bytes per second). The buffer is
// allocated and written once beforehand so page faults are not timed.
double measure_read_bandwidth_gbps(ThreadPool& pool, size_t bytes = size_t{1} << 30, int repetitions = 5);

}  // namespace turbolm::cpu
