// Whole-model throughput on CUDA: prefill, single-stream decode and many-stream decode of a model folder
// (tools/make_random_model.py --preset qwen3-8b writes the random-weight Qwen3-8B used in bench/results/).
//   turbolm_cuda_model_bench MODEL_DIR [--prompt 512] [--decode 128] [--streams 64] [--stream-prompt 128] [--trace 32]
// Each step runs forward() and greedy sampling on the device; only the sampled ids come back to the host.
// Decode steps overlap as the engine's do (EngineCoreConfig::overlap_steps): step t+1 is enqueued with step t's
// ids fed back on the device before the host waits for t's results; TURBOLM_OVERLAP_STEPS=0 runs them one after
// the other (wait, then enqueue).
// --trace N: afterwards, N more decode steps at 1 and at --streams sequences under a CUPTI kernel trace (where each
// step's time goes, kernel by kernel).
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "kernel_trace.h"
#include "kernels/cuda/cuda_runtime.h"
#include "models/model.h"
#include "ops/sampling.h"

namespace turbolm {
namespace {

using Clock = std::chrono::steady_clock;

struct Seq {
  std::vector<int32_t> blocks;
  int32_t context = 0;
  int32_t last_token = 1;
};

class Runner {
 public:
  Runner(Model& model, KvCache& cache, bool overlap) : model_(model), cache_(cache), overlap_(overlap) {
    ctx_.device = model.device();
  }

  // Prefill `prompt` tokens for each sequence (one batch), then `steps` decode steps; returns seconds for both.
  std::pair<double, double> run(int num_seqs, int prompt, int steps) {
    const int64_t block = cache_.spec().block_size;
    const int64_t per_seq = (prompt + steps + block - 1) / block;
    TLM_CHECK_LE(per_seq * num_seqs, cache_.spec().num_blocks) << "KV pool too small";
    std::vector<Seq> seqs(num_seqs);
    for (int s = 0; s < num_seqs; ++s)
      for (int64_t b = 0; b < per_seq; ++b) seqs[s].blocks.push_back(static_cast<int32_t>(s * per_seq + b));
    const auto t0 = Clock::now();
    ForwardBatch batch;
    for (int s = 0; s < num_seqs; ++s) {
      ForwardBatch::Sequence fs;
      fs.query_start = static_cast<int32_t>(batch.token_ids.size());
      fs.query_len = prompt;
      fs.context_len = prompt;
      fs.block_table = seqs[s].blocks;
      for (int i = 0; i < prompt; ++i) {
        batch.token_ids.push_back((s * 7919 + i * 31) % 150000 + 1);
        batch.positions.push_back(i);
      }
      batch.seqs.push_back(fs);
      seqs[s].context = prompt;
    }
    take(launch(batch).wait(), seqs);
    if (trace_ != nullptr) trace_->start();
    const auto t1 = Clock::now();
    SampleFuture pending;  // overlapped: the step before's samples, read once the next step is enqueued
    for (int t = 0; t < steps; ++t) {
      ForwardBatch d;
      if (pending.valid()) d.feedback = pending.token_ids();
      for (int s = 0; s < num_seqs; ++s) {
        ForwardBatch::Sequence fs;
        fs.query_start = s;
        fs.query_len = 1;
        fs.context_len = seqs[s].context + 1;
        fs.block_table = seqs[s].blocks;
        d.token_ids.push_back(pending.valid() ? feedback_token(s) : seqs[s].last_token);
        d.positions.push_back(seqs[s].context);
        d.seqs.push_back(fs);
        seqs[s].context += 1;
      }
      SampleFuture current = launch(d);
      if (pending.valid()) take(pending.wait(), seqs);
      if (overlap_) {
        pending = std::move(current);
      } else {
        take(current.wait(), seqs);
      }
    }
    if (pending.valid()) take(pending.wait(), seqs);
    const auto t2 = Clock::now();
    if (trace_ != nullptr) trace_->stop();
    return {std::chrono::duration<double>(t1 - t0).count(), std::chrono::duration<double>(t2 - t1).count()};
  }

  // Host seconds spent inside forward() (enqueueing work) since the last reset: close to the step time means the
  // step is bound by host launch overhead, not by the GPU.
  double take_host_seconds() { return std::exchange(host_s_, 0.0); }
  // Trace the decode steps of the following run() calls (nullptr: stop tracing).
  void set_trace(KernelTrace* trace) { trace_ = trace; }

 private:
  // Enqueues the step and its greedy sampling.
  SampleFuture launch(const ForwardBatch& batch) {
    const auto t0 = Clock::now();
    Tensor logits = model_.forward(ctx_, batch, cache_);
    host_s_ += std::chrono::duration<double>(Clock::now() - t0).count();
    std::vector<SamplingParams> params(logits.dim(0));
    std::vector<std::span<const int32_t>> pen(logits.dim(0));
    return sample_async(ctx_, logits, params, pen);
  }
  static void take(const std::vector<SampleResult>& results, std::vector<Seq>& seqs) {
    for (size_t s = 0; s < results.size(); ++s) seqs[s].last_token = results[s].token;
  }

  Model& model_;
  KvCache& cache_;
  ExecContext ctx_;
  bool overlap_;
  double host_s_ = 0.0;
  KernelTrace* trace_ = nullptr;
};

int arg(int argc, char** argv, const char* name, int fallback) {
  for (int i = 2; i + 1 < argc; ++i)
    if (std::strcmp(argv[i], name) == 0) return std::atoi(argv[i + 1]);
  return fallback;
}

}  // namespace
}  // namespace turbolm

int main(int argc, char** argv) {
  using namespace turbolm;
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s MODEL_DIR [--prompt N] [--decode N] [--streams N] [--stream-prompt N]\n", argv[0]);
    return 2;
  }
  if (!cuda_device_available()) {
    std::printf("no CUDA device\n");
    return 0;
  }
  const int prompt = arg(argc, argv, "--prompt", 512), decode = arg(argc, argv, "--decode", 128);
  const int streams = arg(argc, argv, "--streams", 64), stream_prompt = arg(argc, argv, "--stream-prompt", 128);
  LoadOptions options;
  options.device = Device::cuda(0);
  const auto load0 = std::chrono::steady_clock::now();
  auto model = load_model(argv[1], options);
  const double load_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - load0).count();
  const KvCacheSpec probe = model->kv_cache_spec(1, 64, KvQuant::kNone);
  const int64_t needed =
      std::max<int64_t>((prompt + decode + 63) / 64 * 2, (stream_prompt + decode + 63) / 64 * streams);
  const int64_t fits = static_cast<int64_t>(0.8 * cuda_free_memory_bytes(0) / probe.bytes_per_block());
  KvCache cache(model->kv_cache_spec(std::min(needed, fits), 64, KvQuant::kNone));
  std::printf("device: %s\nmodel: %s, %.2f GB of weights, loaded in %.1f s; KV pool %lld blocks\n",
              cuda_device_description(0).c_str(), argv[1], model->weight_bytes() / 1e9, load_s,
              static_cast<long long>(cache.spec().num_blocks));
  const char* overlap_env = std::getenv("TURBOLM_OVERLAP_STEPS");
  const bool overlap = overlap_env == nullptr || std::strcmp(overlap_env, "0") != 0;
  std::printf("decode steps: %s\n", overlap ? "overlapped (ids fed back on the device)" : "one after the other");
  Runner runner(*model, cache, overlap);
  runner.run(1, 16, 4);  // warm-up: cuBLASLt plans, allocator cache
  runner.run(streams, 8, 2);
  runner.take_host_seconds();
  auto [prefill_s, decode_s] = runner.run(1, prompt, decode);
  const double host_s = runner.take_host_seconds();
  std::printf("| metric | value |\n| --- | --- |\n");
  std::printf("| prefill %d tokens (1 sequence) | %.1f ms, %.0f tok/s |\n", prompt, prefill_s * 1e3,
              prompt / prefill_s);
  std::printf("| decode bs1 after a %d-token prompt, %d steps | %.2f ms/step, %.1f tok/s |\n", prompt, decode,
              decode_s * 1e3 / decode, decode / decode_s);
  std::printf("| host time inside forward() (enqueue), bs1 run | %.2f ms/step |\n", host_s * 1e3 / (decode + 1));
  auto [sp_s, sd_s] = runner.run(streams, stream_prompt, decode);
  std::printf("| %d streams: prefill %d each | %.1f ms, %.0f tok/s |\n", streams, stream_prompt, sp_s * 1e3,
              double(streams) * stream_prompt / sp_s);
  std::printf("| %d streams: decode %d steps | %.2f ms/step, %.0f tok/s |\n", streams, decode, sd_s * 1e3 / decode,
              double(streams) * decode / sd_s);
  std::printf("| %d streams: pp%d+tg%d end to end | %.0f output tok/s |\n", streams, stream_prompt, decode,
              double(streams) * decode / (sp_s + sd_s));
  const int trace_steps = arg(argc, argv, "--trace", 0);
  if (trace_steps > 0 && !KernelTrace::available()) std::printf("\n(--trace: this build has no CUPTI)\n");
  if (trace_steps > 0 && KernelTrace::available()) {
    KernelTrace trace;
    runner.set_trace(&trace);
    for (const int seqs : {1, streams}) {
      const int traced_prompt = seqs == 1 ? prompt : stream_prompt;
      const double s = runner.run(seqs, traced_prompt, trace_steps).second;
      std::printf(
          "\n### Kernel trace: %d sequence(s), %d decode steps after %d-token prompts (%.2f ms/step traced)\n\n", seqs,
          trace_steps, traced_prompt, s * 1e3 / trace_steps);
      std::printf("%s\n%s", trace.summary(trace_steps).c_str(), trace.step_timeline(24, 8).c_str());
    }
    runner.set_trace(nullptr);
  }
  return 0;
}
