#include "server/metrics.h"

#include <fmt/format.h>

namespace turbolm::server {

Histogram::Histogram(std::vector<double> upper_bounds)
    : bounds_(std::move(upper_bounds)), counts_(bounds_.size() + 1, 0) {}

void Histogram::observe(double value) {
  size_t i = 0;
  while (i < bounds_.size() && value > bounds_[i]) ++i;
  ++counts_[i];
  sum_ += value;
  ++count_;
}

void Histogram::render(std::string& out, const std::string& name) const {
  uint64_t cumulative = 0;
  for (size_t i = 0; i < bounds_.size(); ++i) {
    cumulative += counts_[i];
    out += fmt::format("{}_bucket{{le=\"{}\"}} {}\n", name, bounds_[i], cumulative);
  }
  out += fmt::format("{}_bucket{{le=\"+Inf\"}} {}\n", name, count_);
  out += fmt::format("{}_sum {}\n{}_count {}\n", name, sum_, name, count_);
}

Metrics::Metrics()
    : ttft_({0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0, 20.0, 40.0,
             80.0}),
      tpot_({0.001, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5, 5.0}),
      e2e_({0.05, 0.1, 0.3, 0.5, 0.8, 1.0, 1.5, 2.0, 2.5, 5.0, 10.0, 15.0, 20.0, 30.0, 40.0, 50.0, 60.0, 120.0}) {}

void Metrics::record_http(const std::string& route, int status) {
  std::lock_guard lock(mutex_);
  ++http_[{route, status}];
}

void Metrics::record_request(const RequestRecord& r) {
  std::lock_guard lock(mutex_);
  ++finished_[r.finish_reason];
  prompt_tokens_ += r.prompt_tokens;
  generation_tokens_ += r.generation_tokens;
  e2e_.observe(r.e2e_s);
  if (r.ttft_s >= 0) {
    ttft_.observe(r.ttft_s);
    // vLLM's TPOT: time after the first token divided by the tokens after it.
    if (r.generation_tokens > 1) tpot_.observe((r.e2e_s - r.ttft_s) / static_cast<double>(r.generation_tokens - 1));
  }
}

void Metrics::set_in_progress(int64_t value) {
  std::lock_guard lock(mutex_);
  in_progress_ = value;
}

std::string Metrics::render(const EngineStats& s) const {
  std::string out;
  auto metric = [&](const char* name, const char* type, const char* help) {
    out += fmt::format("# HELP turbolm:{} {}\n# TYPE turbolm:{} {}\n", name, help, name, type);
  };
  std::lock_guard lock(mutex_);

  metric("http_requests_total", "counter", "HTTP requests by route and status.");
  for (const auto& [key, count] : http_) {
    out += fmt::format("turbolm:http_requests_total{{route=\"{}\",status=\"{}\"}} {}\n", key.first, key.second, count);
  }
  metric("http_requests_in_progress", "gauge", "Generation requests the server is handling now.");
  out += fmt::format("turbolm:http_requests_in_progress {}\n", in_progress_);
  metric("request_success_total", "counter", "Finished generation requests by finish reason.");
  for (const auto& [reason, count] : finished_) {
    out += fmt::format("turbolm:request_success_total{{finished_reason=\"{}\"}} {}\n", reason, count);
  }
  metric("prompt_tokens_total", "counter", "Prompt tokens of finished requests.");
  out += fmt::format("turbolm:prompt_tokens_total {}\n", prompt_tokens_);
  metric("generation_tokens_total", "counter", "Generated tokens of finished requests.");
  out += fmt::format("turbolm:generation_tokens_total {}\n", generation_tokens_);
  metric("time_to_first_token_seconds", "histogram", "Time from request arrival to its first token.");
  ttft_.render(out, "turbolm:time_to_first_token_seconds");
  metric("time_per_output_token_seconds", "histogram", "Per-request mean time per output token after the first.");
  tpot_.render(out, "turbolm:time_per_output_token_seconds");
  metric("e2e_request_latency_seconds", "histogram", "Time from request arrival to its last token.");
  e2e_.render(out, "turbolm:e2e_request_latency_seconds");

  metric("num_requests_running", "gauge", "Sequences in the engine's running batch.");
  out += fmt::format("turbolm:num_requests_running {}\n", s.running);
  metric("num_requests_waiting", "gauge", "Sequences waiting for the engine (incl. preempted).");
  out += fmt::format("turbolm:num_requests_waiting {}\n", s.waiting);
  metric("kv_cache_blocks_total", "gauge", "KV cache blocks in the pool.");
  out += fmt::format("turbolm:kv_cache_blocks_total {}\n", s.kv_blocks_total);
  metric("kv_cache_blocks_used", "gauge", "KV cache blocks held by sequences.");
  out += fmt::format("turbolm:kv_cache_blocks_used {}\n", s.kv_blocks_used);
  metric("kv_cache_blocks_peak", "gauge", "Most KV cache blocks in use at once since the engine started.");
  out += fmt::format("turbolm:kv_cache_blocks_peak {}\n", s.kv_blocks_peak);
  metric("kv_cache_usage_perc", "gauge", "Fraction of KV cache blocks in use (0..1).");
  double usage = s.kv_blocks_total > 0 ? static_cast<double>(s.kv_blocks_used) / s.kv_blocks_total : 0.0;
  out += fmt::format("turbolm:kv_cache_usage_perc {}\n", usage);
  metric("prefix_cache_queries_total", "counter", "Prompt tokens looked up in the prefix cache.");
  out += fmt::format("turbolm:prefix_cache_queries_total {}\n", s.prefix_cache_queried_tokens);
  metric("prefix_cache_hits_total", "counter", "Prompt tokens served from the prefix cache.");
  out += fmt::format("turbolm:prefix_cache_hits_total {}\n", s.prefix_cache_hit_tokens);
  metric("prefix_cache_hit_rate", "gauge", "prefix_cache_hits_total / prefix_cache_queries_total.");
  double hit_rate = s.prefix_cache_queried_tokens > 0
                        ? static_cast<double>(s.prefix_cache_hit_tokens) / s.prefix_cache_queried_tokens
                        : 0.0;
  out += fmt::format("turbolm:prefix_cache_hit_rate {}\n", hit_rate);
  metric("num_preemptions_total", "counter", "Sequences preempted for lack of KV blocks.");
  out += fmt::format("turbolm:num_preemptions_total {}\n", s.preemptions);
  metric("engine_prompt_tokens_total", "counter", "Prompt tokens the engine processed.");
  out += fmt::format("turbolm:engine_prompt_tokens_total {}\n", s.prompt_tokens_total);
  metric("engine_generation_tokens_total", "counter", "Tokens the engine generated.");
  out += fmt::format("turbolm:engine_generation_tokens_total {}\n", s.generation_tokens_total);
  return out;
}

}  // namespace turbolm::server
