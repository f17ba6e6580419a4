#include "server/bench_stats.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace turbolm::server {

Distribution Distribution::of(std::vector<double> values) {
  Distribution d;
  if (values.empty()) return d;
  std::sort(values.begin(), values.end());
  double sum = 0;
  for (double v : values) sum += v;
  d.mean = sum / values.size();
  size_t n = values.size();
  d.median = n % 2 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
  // numpy.percentile's default (linear interpolation), which vLLM uses.
  double rank = 0.99 * (n - 1);
  size_t lo = static_cast<size_t>(std::floor(rank));
  size_t hi = std::min(lo + 1, n - 1);
  d.p99 = values[lo] + (values[hi] - values[lo]) * (rank - lo);
  double var = 0;
  for (double v : values) var += (v - d.mean) * (v - d.mean);
  d.std = std::sqrt(var / n);
  return d;
}

BenchSummary BenchSummary::compute(const std::vector<RequestResult>& results, double duration_s) {
  BenchSummary s;
  s.duration_s = duration_s;
  std::vector<double> ttft, tpot, itl, e2el;
  for (const RequestResult& r : results) {
    if (!r.success) {
      ++s.failed;
      continue;
    }
    ++s.completed;
    s.total_input_tokens += r.prompt_tokens;
    s.total_output_tokens += r.output_tokens;
    ttft.push_back(r.ttft_s * 1e3);
    e2el.push_back(r.latency_s * 1e3);
    if (r.output_tokens > 1) tpot.push_back((r.latency_s - r.ttft_s) / (r.output_tokens - 1) * 1e3);
    for (double gap : r.itl_s) itl.push_back(gap * 1e3);
  }
  if (duration_s > 0) {
    s.request_throughput = s.completed / duration_s;
    s.output_throughput = s.total_output_tokens / duration_s;
    s.total_token_throughput = (s.total_input_tokens + s.total_output_tokens) / duration_s;
  }
  s.ttft_ms = Distribution::of(std::move(ttft));
  s.tpot_ms = Distribution::of(std::move(tpot));
  s.itl_ms = Distribution::of(std::move(itl));
  s.e2el_ms = Distribution::of(std::move(e2el));
  return s;
}

std::string BenchSummary::format() const {
  std::string out = fmt::format("{:=^50}\n", " Serving Benchmark Result ");
  auto row = [&](std::string_view name, auto value) { out += fmt::format("{:<40}{:<10}\n", name, value); };
  auto real = [&](std::string_view name, double value) { out += fmt::format("{:<40}{:<10.2f}\n", name, value); };
  row("Successful requests:", completed);
  row("Failed requests:", failed);
  real("Benchmark duration (s):", duration_s);
  row("Total input tokens:", total_input_tokens);
  row("Total generated tokens:", total_output_tokens);
  real("Request throughput (req/s):", request_throughput);
  real("Output token throughput (tok/s):", output_throughput);
  real("Total Token throughput (tok/s):", total_token_throughput);
  auto section = [&](std::string_view title, std::string_view name, const Distribution& d) {
    out += fmt::format("{:-^50}\n", title);
    real(fmt::format("Mean {} (ms):", name), d.mean);
    real(fmt::format("Median {} (ms):", name), d.median);
    real(fmt::format("P99 {} (ms):", name), d.p99);
  };
  section("Time to First Token", "TTFT", ttft_ms);
  section("Time per Output Token (excl. 1st token)", "TPOT", tpot_ms);
  section("Inter-token Latency", "ITL", itl_ms);
  section("End-to-end Latency", "E2EL", e2el_ms);
  out += std::string(50, '=') + "\n";
  return out;
}

nlohmann::json BenchSummary::to_json() const {
  nlohmann::json j = {{"completed", completed},
                      {"failed", failed},
                      {"duration", duration_s},
                      {"total_input_tokens", total_input_tokens},
                      {"total_output_tokens", total_output_tokens},
                      {"request_throughput", request_throughput},
                      {"output_throughput", output_throughput},
                      {"total_token_throughput", total_token_throughput}};
  auto add = [&](const char* name, const Distribution& d) {
    j[fmt::format("mean_{}_ms", name)] = d.mean;
    j[fmt::format("median_{}_ms", name)] = d.median;
    j[fmt::format("p99_{}_ms", name)] = d.p99;
    j[fmt::format("std_{}_ms", name)] = d.std;
  };
  add("ttft", ttft_ms);
  add("tpot", tpot_ms);
  add("itl", itl_ms);
  add("e2el", e2el_ms);
  return j;
}

}  // namespace turbolm::server
