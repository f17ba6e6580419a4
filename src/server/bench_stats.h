// `turbolm bench serve` metrics, defined as `vllm bench serve` defines them so results compare:
// TTFT = send -> first non-empty token chunk; TPOT = (latency - TTFT) / (output_tokens - 1) per request with more
// than one output token; ITL = every gap between consecutive token chunks; throughput = totals / wall duration.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace turbolm::server {

struct RequestResult {
  bool success = false;
  std::string error;
  int64_t prompt_tokens = 0;
  int64_t output_tokens = 0;
  double ttft_s = 0;
  double latency_s = 0;
  std::vector<double> itl_s;  // gaps between consecutive token chunks
};

struct Distribution {
  double mean = 0, median = 0, p99 = 0, std = 0;
  static Distribution of(std::vector<double> values);  // empty -> zeros
};

struct BenchSummary {
  int64_t completed = 0;
  int64_t failed = 0;
  double duration_s = 0;
  int64_t total_input_tokens = 0;
  int64_t total_output_tokens = 0;
  double request_throughput = 0;      // req/s
  double output_throughput = 0;       // tok/s
  double total_token_throughput = 0;  // (input + output) tok/s
  Distribution ttft_ms, tpot_ms, itl_ms, e2el_ms;

  static BenchSummary compute(const std::vector<RequestResult>& results, double duration_s);
  std::string format() const;  // the table vLLM prints
  nlohmann::json to_json() const;
};

}  // namespace turbolm::server
