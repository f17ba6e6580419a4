// Offline throughput through an Engine: the measurement that `turbolm bench throughput` and the GPU machine's
// bench/cuda/turbolm_cuda_engine_bench share (submit, time, collect per-request results, watch the engine's load).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "turbolm/engine.h"

namespace turbolm {

struct ThroughputJob {
  std::vector<int32_t> prompt;
  int output_len = 0;
};

struct ThroughputRun {
  double seconds = 0;
  int64_t input_tokens = 0, output_tokens = 0;
  std::vector<double> ttft_ms;  // requests that produced a token
  std::vector<double> tpot_ms;  // requests that produced two or more
  int peak_running = 0, peak_waiting = 0;
  int64_t peak_kv_blocks = 0;                      // polled while the run was going
  int64_t preemptions = 0, prefix_hit_tokens = 0;  // during the run
  int failed = 0;                                  // requests that did not end by length (errors, aborts)
  int short_outputs = 0;                           // requests that ended by length before their output_len
  std::string first_problem;                       // the first failed or short request, described
};

// Submits `jobs` with at most `concurrency` in flight (0 = all at once); each generates its output_len tokens
// with EOS ignored and `gen` otherwise. Waits for all, polling the engine's stats every 2 ms; with a non-empty
// `progress_label`, prints a progress line to stderr every `progress_every_s` seconds (none before the first
// interval: short runs stay quiet).
ThroughputRun run_throughput(Engine& engine, const std::vector<ThroughputJob>& jobs, int concurrency,
                             GenerationConfig gen, const std::string& progress_label = {},
                             double progress_every_s = 10);

// Nearest-rank percentile, p in [0, 100]; 0 for an empty sample.
double percentile(std::vector<double> values, double p);

}  // namespace turbolm
