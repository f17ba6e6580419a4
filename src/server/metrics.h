// Prometheus metrics for GET /metrics: server-side request counters and latency histograms, plus engine gauges
// (running/waiting, KV usage, prefix-cache hit rate) read from Engine::stats() at scrape time.
// Names mirror vLLM's (`vllm:time_to_first_token_seconds` -> `turbolm:time_to_first_token_seconds`) so
// existing dashboards port by a prefix change.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "turbolm/engine.h"

namespace turbolm::server {

class Histogram {
 public:
  explicit Histogram(std::vector<double> upper_bounds);
  void observe(double value);
  // Appends the _bucket/_sum/_count lines of `name`.
  void render(std::string& out, const std::string& name) const;

 private:
  std::vector<double> bounds_;
  std::vector<uint64_t> counts_;  // per bucket, not cumulative
  double sum_ = 0;
  uint64_t count_ = 0;
};

// One finished generation request, as the server saw it.
struct RequestRecord {
  std::string finish_reason;  // stop | length | abort | error
  int64_t prompt_tokens = 0;
  int64_t generation_tokens = 0;
  double ttft_s = -1;  // < 0: no token arrived
  double e2e_s = 0;
};

class Metrics {
 public:
  Metrics();
  void record_http(const std::string& route, int status);
  void record_request(const RequestRecord& record);
  void set_in_progress(int64_t value);
  std::string render(const EngineStats& engine) const;

 private:
  mutable std::mutex mutex_;
  std::map<std::pair<std::string, int>, uint64_t> http_;  // (route, status) -> count
  std::map<std::string, uint64_t> finished_;              // finish reason -> count
  int64_t prompt_tokens_ = 0;
  int64_t generation_tokens_ = 0;
  int64_t in_progress_ = 0;
  Histogram ttft_;
  Histogram tpot_;
  Histogram e2e_;
};

}  // namespace turbolm::server
