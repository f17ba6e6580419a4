// The client side of `turbolm bench serve`: sends streamed OpenAI requests to a server at a Poisson request rate
// and/or under a concurrency cap, and times every token chunk (see bench_stats.h for the metric definitions).
#pragma once

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "server/bench_stats.h"

namespace turbolm::server {

struct BenchPrompt {
  std::string text;
  int max_tokens = 128;
};

struct LoadSpec {
  std::string host = "127.0.0.1";
  uint16_t port = 23333;
  std::string api_key;
  std::string endpoint = "/v1/completions";  // or /v1/chat/completions
  std::string model;
  double request_rate = std::numeric_limits<double>::infinity();  // requests/s (Poisson); inf = all at once
  int max_concurrency = 0;                                        // 0 = no cap
  double temperature = 0.0;
  bool ignore_eos = false;
  uint64_t seed = 0;
};

struct LoadResult {
  std::vector<RequestResult> requests;
  double duration_s = 0;
};

LoadResult run_load(const LoadSpec& spec, const std::vector<BenchPrompt>& prompts);

// GET /v1/models -> the first model's id. Throws turbolm::Error when the server cannot be reached.
std::string fetch_model_name(const LoadSpec& spec);

// "http://host:port[/]" -> host and port; throws kInvalidArgument otherwise (https is not supported).
void parse_base_url(const std::string& url, std::string& host, uint16_t& port);

// vLLM's random dataset draws token ids; without a tokenizer we draw words from a fixed list, so a prompt of
// `input_len` words is roughly input_len tokens. Lengths vary uniformly in [len * (1 - range_ratio), len].
std::vector<BenchPrompt> random_prompts(int count, int input_len, int output_len, double range_ratio, uint64_t seed);
// One JSON object per line: {"prompt": "...", "max_tokens"|"output_len": N}; the first `count` lines (0 = all).
std::vector<BenchPrompt> jsonl_prompts(const std::string& path, int count, int default_output_len);

}  // namespace turbolm::server
