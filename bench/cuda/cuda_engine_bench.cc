// Offline throughput of the whole engine on CUDA (scheduler, continuous batching, paged KV cache, CUDA-graph
// decode): N requests of random token ids, each generating exactly --output-len tokens (ignore_eos, greedy),
// all submitted at once, like `turbolm bench throughput` but on a model folder without a tokenizer
// (tools/make_random_model.py --preset qwen3-8b). A warm-up batch runs first on the same engine.
//   turbolm_cuda_engine_bench MODEL_DIR [--num-prompts 1000] [--input-len 128] [--output-len 128]
//     [--max-batch-size 0 (the device's default: 1024 on H100)] [--session-len 4096] [--cache-max-entry-count 0.9]
//     [--max-prefill-token-num 8192]
//     [--warmup 64] [--seed 0] [--device cuda]   (--device cpu: a smoke test without a GPU)
// Prints a markdown table on stdout (progress and the engine's log on stderr); exits 1 when a request fails.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "engine/throughput_run.h"
#include "kernels/cuda/cuda_runtime.h"
#include "turbolm/engine.h"

namespace turbolm {
namespace {

using Clock = std::chrono::steady_clock;

struct Options {
  std::string model;
  int num_prompts = 1000;
  int input_len = 128;
  int output_len = 128;
  int warmup = 64;
  uint64_t seed = 0;
  EngineConfig engine;
};

// `n` requests of input_len random ids (seeded), all submitted at once, greedy, exactly output_len tokens each.
ThroughputRun run(Engine& engine, const Options& opt, int n, uint64_t seed, const char* label) {
  std::mt19937_64 rng(seed);
  const auto vocab = static_cast<int32_t>(engine.info().vocab_size);
  std::uniform_int_distribution<int32_t> token(std::min(3, vocab - 1), vocab - 1);
  std::vector<ThroughputJob> jobs(n);
  for (ThroughputJob& job : jobs) {
    job.prompt.resize(opt.input_len);
    for (int32_t& t : job.prompt) t = token(rng);
    job.output_len = opt.output_len;
  }
  GenerationConfig gen;
  // ignore_eos (set by run_throughput) alone makes every request run to max_new_tokens (no stop ids, no
  // chat-template stop words without a tokenizer; checked by the caller). min_new_tokens is not set: it masks
  // EOS with one small host-to-device copy per row and step (engine_core.cc), which would be measured too.
  gen.do_sample = false;  // greedy
  gen.random_seed = seed;
  return run_throughput(engine, jobs, /*concurrency=*/0, gen, label);
}

bool parse(int argc, char** argv, Options& opt) {
  if (argc < 2 || argv[1][0] == '-') return false;
  opt.model = argv[1];
  for (int i = 2; i < argc; ++i) {
    const std::string name = argv[i];
    if (i + 1 >= argc) {
      std::fprintf(stderr, "error: %s needs a value\n", name.c_str());
      return false;
    }
    const char* value = argv[++i];
    if (name == "--device") {  // cpu: a smoke test of this program on a machine without a GPU
      opt.engine.device = value;
      continue;
    }
    char* end = nullptr;
    const double v = std::strtod(value, &end);
    if (end == value || *end != '\0') {
      std::fprintf(stderr, "error: %s %s is not a number\n", name.c_str(), value);
      return false;
    }
    const int iv = static_cast<int>(v);
    if (name == "--num-prompts")
      opt.num_prompts = iv;
    else if (name == "--input-len")
      opt.input_len = iv;
    else if (name == "--output-len")
      opt.output_len = iv;
    else if (name == "--warmup")
      opt.warmup = iv;
    else if (name == "--seed")
      opt.seed = static_cast<uint64_t>(v);
    else if (name == "--max-batch-size")
      opt.engine.max_batch_size = iv;
    else if (name == "--session-len")
      opt.engine.session_len = iv;
    else if (name == "--cache-max-entry-count")
      opt.engine.cache_max_entry_count = v;
    else if (name == "--max-prefill-token-num")
      opt.engine.max_prefill_token_num = iv;
    else {
      std::fprintf(stderr, "error: unknown flag %s\n", name.c_str());
      return false;
    }
  }
  if (opt.num_prompts < 1 || opt.input_len < 1 || opt.output_len < 1 || opt.warmup < 0) {
    std::fprintf(stderr, "error: --num-prompts, --input-len and --output-len must be positive, --warmup >= 0\n");
    return false;
  }
  return true;
}

void print_row(const char* what, int requests, const ThroughputRun& r, const Options& opt) {
  std::printf("| %s | %d | %d | %d | %.2f | %.1f | %.1f | %.2f | %.0f / %.0f | %.2f / %.2f | %d | %lld | %lld |\n",
              what, requests, opt.input_len, opt.output_len, r.seconds, r.output_tokens / r.seconds,
              (r.input_tokens + r.output_tokens) / r.seconds, requests / r.seconds, percentile(r.ttft_ms, 50),
              percentile(r.ttft_ms, 99), percentile(r.tpot_ms, 50), percentile(r.tpot_ms, 99), r.peak_running,
              static_cast<long long>(r.peak_kv_blocks), static_cast<long long>(r.preemptions));
}

}  // namespace
}  // namespace turbolm

int main(int argc, char** argv) {
  using namespace turbolm;
  Options opt;
  opt.engine.device = "cuda";
  opt.engine.cache_max_entry_count = 0.9;
  opt.engine.session_len = 4096;
  if (!parse(argc, argv, opt)) {
    std::fprintf(stderr,
                 "usage: %s MODEL_DIR [--num-prompts N] [--input-len N] [--output-len N] [--max-batch-size N] "
                 "[--session-len N] [--cache-max-entry-count F] [--max-prefill-token-num N] [--warmup N] [--seed N] "
                 "[--device cuda|cpu]\n",
                 argv[0]);
    return 2;
  }
  if (opt.engine.device.starts_with("cuda") && !cuda_device_available()) {
    std::fprintf(stderr, "error: no CUDA device available (the engine bench needs a GPU)\n");
    return 1;
  }
  std::unique_ptr<Engine> engine;
  const auto load0 = Clock::now();
  try {
    engine = Engine::create(opt.model, opt.engine);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: cannot start the engine on %s: %s\n", opt.model.c_str(), e.what());
    return 1;
  }
  const double load_s = std::chrono::duration<double>(Clock::now() - load0).count();
  const EngineStats s0 = engine->stats();
  const EngineConfig& cfg = engine->config();
  const bool on_gpu = engine->info().device.starts_with("cuda");
  std::printf("device: %s (%s)\nmodel: %s (%s, vocab %lld), engine started in %.1f s\n",
              on_gpu ? cuda_device_description(0).c_str() : "host", engine->info().device.c_str(), opt.model.c_str(),
              engine->info().architecture.c_str(), static_cast<long long>(engine->info().vocab_size), load_s);
  std::printf(
      "engine: max_batch_size %d, session_len %d, cache_max_entry_count %.2f, max_prefill_token_num %d; "
      "KV pool %lld blocks x %lld tokens\n\n",
      cfg.max_batch_size, cfg.session_len, cfg.cache_max_entry_count, cfg.max_prefill_token_num,
      static_cast<long long>(s0.kv_blocks_total), static_cast<long long>(s0.kv_block_size));
  std::fflush(stdout);

  std::printf(
      "| run | requests | input len | output len | wall s | output tok/s | total tok/s | requests/s | "
      "TTFT ms p50 / p99 | TPOT ms p50 / p99 | peak running batch | peak KV blocks | preemptions |\n");
  std::printf("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n");
  int failed = 0;
  try {
    if (opt.warmup > 0) {
      const ThroughputRun w = run(*engine, opt, opt.warmup, opt.seed + 1, "warm-up");
      print_row("warm-up", opt.warmup, w, opt);
      std::fflush(stdout);
      if (w.failed + w.short_outputs > 0) {
        std::fprintf(stderr, "error: %d of %d warm-up requests failed; first: %s\n", w.failed + w.short_outputs,
                     opt.warmup, w.first_problem.c_str());
        return 1;
      }
    }
    const EngineStats before = engine->stats();
    const ThroughputRun r = run(*engine, opt, opt.num_prompts, opt.seed, "run");
    print_row("timed", opt.num_prompts, r, opt);
    const EngineStats after = engine->stats();
    std::printf(
        "\nsteps %lld, of which overlapped (enqueued before the step ahead's outputs; TURBOLM_OVERLAP_STEPS) %lld\n",
        static_cast<long long>(after.steps - before.steps),
        static_cast<long long>(after.overlapped_steps - before.overlapped_steps));
    std::printf("KV blocks in use at most: %lld of %lld (%.1f%%); prefix-cache hit tokens %lld\n",
                static_cast<long long>(r.peak_kv_blocks), static_cast<long long>(s0.kv_blocks_total),
                s0.kv_blocks_total > 0 ? 100.0 * static_cast<double>(r.peak_kv_blocks) / s0.kv_blocks_total : 0.0,
                static_cast<long long>(r.prefix_hit_tokens));
    failed = r.failed + r.short_outputs;
    if (failed > 0) {
      std::fprintf(stderr, "error: %d of %d requests failed; first: %s\n", failed, opt.num_prompts,
                   r.first_problem.c_str());
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return failed > 0 ? 1 : 0;
}
