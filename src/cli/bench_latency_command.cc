// `turbolm bench latency`: single-sequence prefill and decode speed (llama-bench's pp/tg numbers), with the
// memory bandwidth decode achieves next to what this machine can stream.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <random>

#include "cli/bandwidth_note.h"
#include "cli/bench_lengths.h"
#include "cli/commands.h"
#include "core/cpu_features.h"
#include "core/error.h"
#include "core/logging.h"
#include "core/progress_line.h"
#include "kernels/cpu/memory_bandwidth.h"
#include "models/sequence_runner.h"

namespace turbolm::cli {
namespace {

struct LatencyOptions {
  std::string model;
  int input_len = 128;
  int output_len = 128;
  int repeat = 3;
  int threads = 0;
  bool json = false;
};

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

double rounded(double v) { return std::round(v * 100.0) / 100.0; }  // two decimals, as printed before

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

void run_latency(const LatencyOptions& opt) {
  TLM_CHECK_ARG(opt.input_len >= 1 && opt.output_len >= 1 && opt.repeat >= 1)
      << "--input-len, --output-len and --repeat must be positive";
  TLM_CHECK_ARG(int64_t{opt.input_len} + opt.output_len <= (1 << 24))
      << "--input-len + --output-len must be at most " << (1 << 24) << " tokens";
  TLM_CHECK_ARG(opt.threads >= 0 && opt.threads <= 4096) << "--num-threads must be in [0, 4096] (0 = all cores)";
  ThreadPool pool(opt.threads > 0 ? opt.threads : ThreadPool::default_num_threads());
  ExecContext ctx;
  ctx.pool = &pool;
  auto model = load_model(opt.model);
  ctx.device = model->device();
  const ModelConfig& config = model->config();
  // Refused as bench throughput refuses it: past the model's positions the figures are for a run it cannot do.
  if (config.max_position_embeddings > 0) {
    check_bench_lengths(
        opt.input_len, opt.output_len, config.max_position_embeddings,
        "the model's " + std::to_string(config.max_position_embeddings) + " positions (max_position_embeddings)");
  }

  std::mt19937 rng(42);
  std::uniform_int_distribution<int32_t> token(3, static_cast<int32_t>(config.vocab_size) - 1);
  std::vector<int32_t> prompt(opt.input_len);
  for (auto& t : prompt) t = token(rng);

  SequenceRunner runner(*model, opt.input_len + opt.output_len);
  runner.feed(ctx, {prompt.begin(), prompt.begin() + std::min(opt.input_len, 8)});  // warm-up
  std::vector<double> prefill_s, decode_s;
  ProgressLine progress("bench latency");
  for (int r = 0; r < opt.repeat; ++r) {
    runner.reset();
    auto start = std::chrono::steady_clock::now();
    runner.feed(ctx, prompt);
    prefill_s.push_back(seconds_since(start));
    start = std::chrono::steady_clock::now();
    for (int i = 0; i < opt.output_len; ++i) {
      runner.feed(ctx, {token(rng)});
      progress.report([&] {
        return "run " + std::to_string(r + 1) + " of " + std::to_string(opt.repeat) + ", decoded " +
               std::to_string(i + 1) + " of " + std::to_string(opt.output_len) + " tokens";
      });
    }
    decode_s.push_back(seconds_since(start));
  }
  const double prefill_tps = opt.input_len / median(prefill_s);
  const double decode_tps = opt.output_len / median(decode_s);
  // Decode streams every weight once per token, except the embedding table (one row) unless it is the lm_head.
  const double embed_bytes = static_cast<double>(dtype_bytes(config.dtype, config.vocab_size * config.hidden_size));
  const double bytes_per_token = model->weight_bytes() - (config.tie_word_embeddings ? 0.0 : embed_bytes);
  const double achieved_gbps = bytes_per_token * decode_tps / 1e9;
  const double machine_gbps = ctx.device.is_cpu() ? cpu::measure_read_bandwidth_gbps(pool) : 0.0;

  if (opt.json) {
    const nlohmann::ordered_json json = {{"model", opt.model},
                                         {"device", ctx.device.to_string()},
                                         {"threads", pool.num_threads()},
                                         {"isa", cpu_features().to_string()},
                                         {"input_len", opt.input_len},
                                         {"output_len", opt.output_len},
                                         {"prefill_tok_s", rounded(prefill_tps)},
                                         {"decode_tok_s", rounded(decode_tps)},
                                         {"decode_bytes_per_token", std::round(bytes_per_token)},
                                         {"achieved_gbps", rounded(achieved_gbps)},
                                         {"machine_read_gbps", rounded(machine_gbps)}};
    std::printf("%s\n", json.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
    return;
  }
  std::printf("model            %s (%s, %.1f MB weights)\n", opt.model.c_str(), config.architecture.c_str(),
              model->weight_bytes() / 1e6);
  std::printf("device           %s, %d threads, ISA %s\n", ctx.device.to_string().c_str(), pool.num_threads(),
              cpu_features().to_string().c_str());
  std::printf("prefill          %d tokens: %.1f tok/s (median of %d)\n", opt.input_len, prefill_tps, opt.repeat);
  std::printf("decode           %d tokens: %.2f tok/s (median of %d)\n", opt.output_len, decode_tps, opt.repeat);
  std::printf("decode bandwidth %.1f GB/s (%.1f MB per token)%s\n", achieved_gbps, bytes_per_token / 1e6,
              bandwidth_note(achieved_gbps, machine_gbps).c_str());
}

void add_bench_latency(CLI::App& app) {
  auto opt = std::make_shared<LatencyOptions>();
  CLI::App& bench = command_group(app, "bench", "Benchmarks: latency | throughput | serve");
  CLI::App* cmd = bench.add_subcommand("latency", "Single-sequence prefill and decode speed on random tokens");
  cmd->add_option("--model", opt->model, "Hugging Face model folder")->required()->check(CLI::ExistingDirectory);
  cmd->add_option("--input-len", opt->input_len, "prompt tokens")->capture_default_str();
  cmd->add_option("--output-len", opt->output_len, "decoded tokens")->capture_default_str();
  cmd->add_option("--repeat", opt->repeat, "runs; the median is reported")->capture_default_str();
  // --num-threads as in every engine command; --threads is this command's older name.
  cmd->add_option("--num-threads,--threads", opt->threads, "CPU threads (0 = all cores)")->capture_default_str();
  cmd->add_flag("--json", opt->json, "one JSON line instead of the table");
  cmd->footer("Example:\n  turbolm bench latency --model DIR --input-len 128 --output-len 128 --repeat 3");
  cmd->callback([opt] { run_latency(*opt); });
}

}  // namespace

TLM_REGISTER_COMMAND(80, add_bench_latency);

}  // namespace turbolm::cli
