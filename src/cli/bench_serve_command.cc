// `turbolm bench serve --base-url URL`: load-tests a running OpenAI-compatible server (ours or any other) and
// reports TTFT, TPOT, ITL, E2EL, req/s and tok/s with `vllm bench serve`'s definitions.
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <limits>

#include "cli/commands.h"
#include "cli/validators.h"
#include "core/error.h"
#include "server/load_generator.h"

namespace turbolm::cli {
namespace {

struct BenchServeOptions {
  std::string base_url = "http://127.0.0.1:23333";
  std::string endpoint = "/v1/completions";
  std::string dataset_name = "random";
  std::string dataset_path;
  int num_prompts = 100;
  int random_input_len = 128;
  int random_output_len = 128;
  double random_range_ratio = 0.0;
  std::string result_file;
  server::LoadSpec spec;
};

void run_bench_serve(BenchServeOptions& opt) {
  server::LoadSpec& spec = opt.spec;
  server::parse_base_url(opt.base_url, spec.host, spec.port);
  spec.endpoint = opt.endpoint;
  TLM_CHECK_ARG(opt.num_prompts > 0) << "--num-prompts must be positive";
  TLM_CHECK_ARG(spec.request_rate > 0) << "--request-rate must be positive (inf = all at once)";
  TLM_CHECK_ARG(spec.max_concurrency >= 0) << "--max-concurrency must be >= 0";
  TLM_CHECK_ARG(opt.random_range_ratio >= 0 && opt.random_range_ratio < 1) << "--random-range-ratio must be in [0, 1)";
  TLM_CHECK_ARG(opt.random_input_len >= 1) << "--random-input-len must be >= 1";
  TLM_CHECK_ARG(opt.random_output_len >= 1) << "--random-output-len must be >= 1";
  // Opened before the run: an unwritable path fails now, not after the whole benchmark.
  std::ofstream result_file;
  if (!opt.result_file.empty()) {
    result_file.open(opt.result_file);
    TLM_CHECK_ARG(result_file.is_open()) << "cannot write --result-file " << opt.result_file << ": "
                                         << std::strerror(errno);
  }
  if (spec.model.empty()) spec.model = server::fetch_model_name(spec);

  std::vector<server::BenchPrompt> prompts;
  if (opt.dataset_name == "random") {
    prompts = server::random_prompts(opt.num_prompts, opt.random_input_len, opt.random_output_len,
                                     opt.random_range_ratio, spec.seed);
  } else {
    TLM_CHECK_ARG(opt.dataset_name == "jsonl") << "--dataset-name must be random or jsonl";
    TLM_CHECK_ARG(!opt.dataset_path.empty()) << "--dataset-name jsonl needs --dataset-path";
    prompts = server::jsonl_prompts(opt.dataset_path, opt.num_prompts, opt.random_output_len);
  }
  std::printf("bench serve: %zu requests to %s%s (model %s), request rate %s, max concurrency %s\n", prompts.size(),
              opt.base_url.c_str(), spec.endpoint.c_str(), spec.model.c_str(),
              std::isfinite(spec.request_rate) ? std::to_string(spec.request_rate).c_str() : "inf",
              spec.max_concurrency > 0 ? std::to_string(spec.max_concurrency).c_str() : "none");
  std::fflush(stdout);

  server::LoadResult result = server::run_load(spec, prompts);
  server::BenchSummary summary = server::BenchSummary::compute(result.requests, result.duration_s);
  std::printf("%s", summary.format().c_str());
  int shown = 0;
  for (const auto& r : result.requests) {
    if (!r.success && shown++ < 5) std::fprintf(stderr, "failed request: %s\n", r.error.c_str());
  }
  if (!opt.result_file.empty()) {
    nlohmann::json json = summary.to_json();
    json["base_url"] = opt.base_url;
    json["endpoint"] = spec.endpoint;
    json["model"] = spec.model;
    json["num_prompts"] = prompts.size();
    json["max_concurrency"] = spec.max_concurrency;
    json["request_rate"] = std::isfinite(spec.request_rate) ? nlohmann::json(spec.request_rate) : nlohmann::json("inf");
    result_file << json.dump(2) << "\n";
    result_file.close();
    TLM_CHECK_ARG(!result_file.fail()) << "writing --result-file " << opt.result_file << " failed";
  }
  TLM_CHECK_ARG(summary.failed == 0) << summary.failed << " of " << prompts.size() << " requests failed";
}

void add_bench_serve(CLI::App& app) {
  CLI::App& group = command_group(app, "bench", "Benchmarks (latency, throughput, serve)");
  auto opt = std::make_shared<BenchServeOptions>();
  CLI::App* cmd = group.add_subcommand("serve", "Load-test an OpenAI-compatible server (vllm bench serve metrics)");
  cmd->add_option("--base-url", opt->base_url, "server address, http://HOST:PORT")->capture_default_str();
  cmd->add_option("--endpoint", opt->endpoint, "/v1/completions or /v1/chat/completions")->capture_default_str();
  cmd->add_option("--model", opt->spec.model, "model name (default: the server's first model)");
  cmd->add_option("--api-key", opt->spec.api_key, "sent as 'Authorization: Bearer KEY'");
  cmd->add_option("--dataset-name", opt->dataset_name, "random | jsonl")->capture_default_str();
  cmd->add_option("--dataset-path", opt->dataset_path, "JSONL file: {\"prompt\": ..., \"max_tokens\": N} per line");
  cmd->add_option("--num-prompts", opt->num_prompts, "requests to send")->capture_default_str();
  cmd->add_option("--random-input-len", opt->random_input_len, "random dataset: prompt words")->capture_default_str();
  cmd->add_option("--random-output-len", opt->random_output_len, "max_tokens per request")->capture_default_str();
  cmd->add_option("--random-range-ratio", opt->random_range_ratio, "random dataset: lengths vary down by this ratio")
      ->capture_default_str();
  cmd->add_option("--request-rate", opt->spec.request_rate,
                  "requests per second, Poisson arrivals (inf = all at once)");
  cmd->add_option("--max-concurrency", opt->spec.max_concurrency, "requests in flight at most (0 = no cap)")
      ->capture_default_str();
  cmd->add_option("--temperature", opt->spec.temperature, "sampling temperature (0 = greedy)")->capture_default_str();
  cmd->add_flag("--ignore-eos", opt->spec.ignore_eos, "generate exactly max_tokens per request");
  cmd->add_option("--seed", opt->spec.seed, "dataset and arrival-time seed")
      ->check(uint64_value())
      ->capture_default_str();
  cmd->add_option("--result-file", opt->result_file, "write the summary as JSON here");
  cmd->footer(
      "Example (with `turbolm serve api_server DIR` running):\n"
      "  turbolm bench serve --base-url http://127.0.0.1:23333 --num-prompts 100 --max-concurrency 16");
  cmd->callback([opt] { run_bench_serve(*opt); });
}

}  // namespace

TLM_REGISTER_COMMAND(72, add_bench_serve);

}  // namespace turbolm::cli
