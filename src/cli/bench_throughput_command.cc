// `turbolm bench throughput`: offline serving throughput through the engine: N requests, at most C in flight,
// reporting requests/s, input and output tokens/s, TTFT and TPOT percentiles and the peak KV blocks in use.
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>

#include "cli/bench_lengths.h"
#include "cli/commands.h"
#include "cli/engine_options.h"
#include "cli/validators.h"
#include "core/error.h"
#include "engine/llm_engine.h"
#include "engine/throughput_run.h"

namespace turbolm::cli {

namespace {

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

using Job = ThroughputJob;

std::vector<Job> make_jobs(const ThroughputOptions& opt, LlmEngine& engine) {
  std::vector<Job> jobs;
  if (!opt.dataset.empty()) {
    // One JSON object per line: {"prompt": "text"} or {"prompt_ids": [...]}, optional "output_len".
    std::ifstream in(opt.dataset);
    TLM_CHECK_ARG(in.good()) << "cannot read " << opt.dataset;
    std::string line;
    for (int line_no = 1; static_cast<int>(jobs.size()) < opt.num_prompts && std::getline(in, line); ++line_no) {
      if (line.empty()) continue;
      Job job;
      try {
        const nlohmann::json j = nlohmann::json::parse(line);
        if (!j.is_object()) throw std::invalid_argument("not a JSON object");
        if (j.contains("prompt_ids")) {
          job.prompt = j["prompt_ids"].get<std::vector<int32_t>>();
          if (job.prompt.empty()) throw std::invalid_argument("\"prompt_ids\" is empty");
        } else if (j.contains("prompt")) {
          // Refused like the engine refuses an empty prompt: encoded, "" would still run from BOS alone.
          const auto text = j["prompt"].get<std::string>();
          if (text.empty()) throw std::invalid_argument("\"prompt\" is empty");
          job.prompt = engine.encode(text, true);
        } else {
          throw std::invalid_argument("needs \"prompt\" or \"prompt_ids\"");
        }
        job.output_len = j.value("output_len", opt.output_len);
        if (job.output_len < 1) throw std::invalid_argument("\"output_len\" must be >= 1");
      } catch (const Error&) {
        throw;
      } catch (const std::exception& e) {
        TLM_FAIL(kInvalidArgument) << opt.dataset << ":" << line_no << ": " << e.what();
      }
      jobs.push_back(std::move(job));
    }
    TLM_CHECK_ARG(!jobs.empty()) << opt.dataset << " has no requests";
    return jobs;
  }
  TLM_CHECK_ARG(opt.shared_prefix_len >= 0 && opt.shared_prefix_len < opt.input_len)
      << "--shared-prefix-len must be in [0, --input-len)";
  const int64_t session_len = engine.info().session_len;
  check_bench_lengths(opt.input_len, opt.output_len, session_len,
                      "session_len " + std::to_string(session_len) + " (raise --session-len)");
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

void bench_throughput(const ThroughputOptions& opt) {
  TLM_CHECK_ARG(opt.num_prompts >= 1 && opt.input_len >= 1 && opt.output_len >= 1)
      << "--num-prompts, --input-len and --output-len must be positive";
  auto engine = std::make_unique<LlmEngine>(load_engine_parts(opt.model, opt.engine), opt.engine);
  const std::vector<Job> jobs = make_jobs(opt, *engine);
  const int concurrency = opt.concurrency > 0 ? opt.concurrency : static_cast<int>(jobs.size());
  // Progress on stderr every 2 s of a long run; stdout carries only the results.
  const ThroughputRun run = run_throughput(*engine, jobs, concurrency, GenerationConfig{}, "bench throughput", 2.0);
  TLM_CHECK_ARG(run.failed == 0) << "a request ended with " << run.first_problem;
  // Outputs cut short (session_len, the KV pool) would make the figures lie.
  TLM_CHECK_ARG(run.short_outputs == 0) << run.short_outputs << " of " << jobs.size()
                                        << " requests ended before their output length (first: " << run.first_problem
                                        << "); raise --session-len or --cache-max-entry-count, or ask for less";
  const double seconds = run.seconds;
  EngineStats stats = engine->stats();
  nlohmann::ordered_json result = {
      {"num_prompts", jobs.size()},
      {"concurrency", concurrency},
      {"seconds", seconds},
      {"requests_per_s", static_cast<double>(jobs.size()) / seconds},
      {"input_tokens_per_s", static_cast<double>(run.input_tokens) / seconds},
      {"output_tokens_per_s", static_cast<double>(run.output_tokens) / seconds},
      {"ttft_ms_p50", percentile(run.ttft_ms, 50)},
      {"ttft_ms_p99", percentile(run.ttft_ms, 99)},
      {"tpot_ms_p50", percentile(run.tpot_ms, 50)},
      {"tpot_ms_p99", percentile(run.tpot_ms, 99)},
      {"kv_blocks_peak", stats.kv_blocks_peak},
      {"kv_blocks_total", stats.kv_blocks_total},
      {"prefix_cache_hit_tokens", stats.prefix_cache_hit_tokens},
      {"preemptions", stats.preemptions},
      {"steps", stats.steps},
      {"overlapped_steps", stats.overlapped_steps},
  };
  if (opt.json) {
    std::printf("%s\n", result.dump().c_str());
    return;
  }
  std::printf("requests %zu, concurrency %d, %.2f s\n", jobs.size(), concurrency, seconds);
  std::printf("throughput: %.3f req/s, input %.1f tok/s, output %.1f tok/s\n", result["requests_per_s"].get<double>(),
              result["input_tokens_per_s"].get<double>(), result["output_tokens_per_s"].get<double>());
  std::printf("TTFT ms: p50 %.1f, p99 %.1f; TPOT ms: p50 %.1f, p99 %.1f\n", percentile(run.ttft_ms, 50),
              percentile(run.ttft_ms, 99), percentile(run.tpot_ms, 50), percentile(run.tpot_ms, 99));
  std::printf("KV blocks: peak %lld of %lld; prefix-cache hit tokens %lld; preemptions %lld\n",
              static_cast<long long>(stats.kv_blocks_peak), static_cast<long long>(stats.kv_blocks_total),
              static_cast<long long>(stats.prefix_cache_hit_tokens), static_cast<long long>(stats.preemptions));
  std::printf("steps %lld, of which overlapped (enqueued before the step ahead's outputs) %lld\n",
              static_cast<long long>(stats.steps), static_cast<long long>(stats.overlapped_steps));
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
  cmd->add_option("--concurrency", opt->concurrency, "requests in flight at most (0 = all)")
      ->check(non_negative())
      ->capture_default_str();
  cmd->add_option("--dataset", opt->dataset, "JSONL: {\"prompt\": text | \"prompt_ids\": [...], \"output_len\": n}");
  cmd->add_option("--seed", opt->seed, "seed of the random prompts")->check(uint64_value())->capture_default_str();
  cmd->add_flag("--json", opt->json, "print one JSON object");
  add_engine_options(*cmd, opt->engine);
  cmd->footer("Example:\n  turbolm bench throughput --model DIR --num-prompts 64 --input-len 128 --output-len 128");
  cmd->callback([opt] { bench_throughput(*opt); });
}

}  // namespace

TLM_REGISTER_COMMAND(71, add_bench_throughput);

}  // namespace turbolm::cli
