// `turbolm bench throughput`: offline serving throughput through the engine: N requests, at most C in flight,
// reporting requests/s, input and output tokens/s, TTFT and TPOT percentiles and the peak KV blocks in use.
#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <random>

#include "cli/commands.h"
#include "cli/engine_options.h"
#include "core/error.h"
#include "engine/llm_engine.h"

namespace turbolm::cli {

namespace {

using Clock = std::chrono::steady_clock;

struct ThroughputOptions {
  std::string model;
  int num_prompts = 64;
  int input_len = 128;
  int output_len = 128;
  int shared_prefix_len = 0;  // the first tokens every random prompt shares (prefix-caching runs)
  int concurrency = 0;        // 0 = all at once
  std::string dataset;
  uint64_t seed = 0;
  bool json = false;
  EngineConfig engine;
};

struct Job {
  std::vector<int32_t> prompt;
  int output_len = 0;
  Clock::time_point submitted, first_token, finished;
  int output_tokens = 0;
  FinishReason reason = FinishReason::kNone;
};

std::vector<Job> make_jobs(const ThroughputOptions& opt, LlmEngine& engine) {
  std::vector<Job> jobs;
  if (!opt.dataset.empty()) {
    // One JSON object per line: {"prompt": "text"} or {"prompt_ids": [...]}, optional "output_len".
    std::ifstream in(opt.dataset);
    TLM_CHECK_ARG(in.good()) << "cannot read " << opt.dataset;
    std::string line;
    while (static_cast<int>(jobs.size()) < opt.num_prompts && std::getline(in, line)) {
      if (line.empty()) continue;
      nlohmann::json j = nlohmann::json::parse(line);
      Job job;
      job.prompt = j.contains("prompt_ids") ? j["prompt_ids"].get<std::vector<int32_t>>()
                                            : engine.encode(j.at("prompt").get<std::string>(), true);
      job.output_len = j.value("output_len", opt.output_len);
      jobs.push_back(std::move(job));
    }
    TLM_CHECK_ARG(!jobs.empty()) << opt.dataset << " has no requests";
    return jobs;
  }
  TLM_CHECK_ARG(opt.shared_prefix_len >= 0 && opt.shared_prefix_len < opt.input_len)
      << "--shared-prefix-len must be in [0, --input-len)";
  std::mt19937_64 rng(opt.seed);
  std::uniform_int_distribution<int32_t> token(3, static_cast<int32_t>(engine.info().vocab_size) - 1);
  std::vector<int32_t> prefix(opt.shared_prefix_len);
  for (auto& t : prefix) t = token(rng);
  for (int i = 0; i < opt.num_prompts; ++i) {
    Job job;
    job.prompt = prefix;
    while (static_cast<int>(job.prompt.size()) < opt.input_len) job.prompt.push_back(token(rng));
    job.output_len = opt.output_len;
    jobs.push_back(std::move(job));
  }
  return jobs;
}

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(p / 100.0 * static_cast<double>(v.size())))];
}

double ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

void run_throughput(const ThroughputOptions& opt) {
  TLM_CHECK_ARG(opt.num_prompts >= 1 && opt.input_len >= 1 && opt.output_len >= 1)
      << "--num-prompts, --input-len and --output-len must be positive";
  auto engine = std::make_unique<LlmEngine>(load_engine_parts(opt.model, opt.engine), opt.engine);
  std::vector<Job> jobs = make_jobs(opt, *engine);
  const int concurrency = opt.concurrency > 0 ? opt.concurrency : static_cast<int>(jobs.size());

  std::mutex mutex;
  std::condition_variable changed;
  int in_flight = 0;
  size_t next = 0, finished = 0;
  auto submit = [&](Job& job) {
    Request r;
    r.prompt_ids = job.prompt;
    r.gen.max_new_tokens = job.output_len;
    r.gen.ignore_eos = true;
    job.submitted = Clock::now();
    engine->submit(std::move(r), [&](const GenerationOutput& chunk) {
      auto now = Clock::now();
      std::lock_guard lock(mutex);
      if (job.output_tokens == 0 && !chunk.token_ids.empty()) job.first_token = now;
      job.output_tokens = chunk.output_tokens;
      if (chunk.finish_reason == FinishReason::kNone) return;
      job.finished = now;
      job.reason = chunk.finish_reason;
      --in_flight;
      ++finished;
      changed.notify_one();
    });
  };

  const Clock::time_point start = Clock::now();
  {
    std::unique_lock lock(mutex);
    while (finished < jobs.size()) {
      while (next < jobs.size() && in_flight < concurrency) {
        ++in_flight;
        Job& job = jobs[next++];
        lock.unlock();
        submit(job);
        lock.lock();
      }
      changed.wait(lock);
    }
  }
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();

  int64_t input_tokens = 0, output_tokens = 0;
  std::vector<double> ttft, tpot;
  for (const Job& job : jobs) {
    TLM_CHECK_ARG(job.reason == FinishReason::kLength) << "a request ended with " << finish_reason_name(job.reason);
    input_tokens += static_cast<int64_t>(job.prompt.size());
    output_tokens += job.output_tokens;
    ttft.push_back(ms(job.first_token - job.submitted));
    if (job.output_tokens > 1) tpot.push_back(ms(job.finished - job.first_token) / (job.output_tokens - 1));
  }
  EngineStats stats = engine->stats();
  nlohmann::ordered_json result = {
      {"num_prompts", jobs.size()},
      {"concurrency", concurrency},
      {"seconds", seconds},
      {"requests_per_s", static_cast<double>(jobs.size()) / seconds},
      {"input_tokens_per_s", static_cast<double>(input_tokens) / seconds},
      {"output_tokens_per_s", static_cast<double>(output_tokens) / seconds},
      {"ttft_ms_p50", percentile(ttft, 50)},
      {"ttft_ms_p99", percentile(ttft, 99)},
      {"tpot_ms_p50", percentile(tpot, 50)},
      {"tpot_ms_p99", percentile(tpot, 99)},
      {"kv_blocks_peak", stats.kv_blocks_peak},
      {"kv_blocks_total", stats.kv_blocks_total},
      {"prefix_cache_hit_tokens", stats.prefix_cache_hit_tokens},
      {"preemptions", stats.preemptions},
  };
  if (opt.json) {
    std::printf("%s\n", result.dump().c_str());
    return;
  }
  std::printf("requests %zu, concurrency %d, %.2f s\n", jobs.size(), concurrency, seconds);
  std::printf("throughput: %.3f req/s, input %.1f tok/s, output %.1f tok/s\n", result["requests_per_s"].get<double>(),
              result["input_tokens_per_s"].get<double>(), result["output_tokens_per_s"].get<double>());
  std::printf("TTFT ms: p50 %.1f, p99 %.1f; TPOT ms: p50 %.1f, p99 %.1f\n", percentile(ttft, 50), percentile(ttft, 99),
              percentile(tpot, 50), percentile(tpot, 99));
  std::printf("KV blocks: peak %lld of %lld; prefix-cache hit tokens %lld; preemptions %lld\n",
              static_cast<long long>(stats.kv_blocks_peak), static_cast<long long>(stats.kv_blocks_total),
              static_cast<long long>(stats.prefix_cache_hit_tokens), static_cast<long long>(stats.preemptions));
}

void add_bench_throughput(CLI::App& app) {
  auto opt = std::make_shared<ThroughputOptions>();
  CLI::App& bench = command_group(app, "bench", "Benchmarks");
  CLI::App* cmd = bench.add_subcommand("throughput", "Offline throughput with continuous batching");
  cmd->add_option("--model", opt->model, "Hugging Face model folder")->required()->check(CLI::ExistingDirectory);
  cmd->add_option("--num-prompts", opt->num_prompts, "requests to run")->capture_default_str();
  cmd->add_option("--input-len", opt->input_len, "prompt tokens of the random requests")->capture_default_str();
  cmd->add_option("--output-len", opt->output_len, "tokens generated per request (EOS ignored)")->capture_default_str();
  cmd->add_option("--shared-prefix-len", opt->shared_prefix_len, "leading prompt tokens all random requests share")
      ->capture_default_str();
  cmd->add_option("--concurrency", opt->concurrency, "requests in flight at most (0 = all)")->capture_default_str();
  cmd->add_option("--dataset", opt->dataset, "JSONL: {\"prompt\": text | \"prompt_ids\": [...], \"output_len\": n}");
  cmd->add_option("--seed", opt->seed, "seed of the random prompts")->capture_default_str();
  cmd->add_flag("--json", opt->json, "print one JSON object");
  add_engine_options(*cmd, opt->engine);
  cmd->callback([opt] { run_throughput(*opt); });
}

}  // namespace

TLM_REGISTER_COMMAND(71, add_bench_throughput);

}  // namespace turbolm::cli
