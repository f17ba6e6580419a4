#include "engine/throughput_run.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>

#include "core/progress_line.h"

namespace turbolm {
namespace {

using Clock = std::chrono::steady_clock;

double ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

struct JobState {
  Clock::time_point submitted, first_token, finished;
  int output_tokens = 0;
  FinishReason reason = FinishReason::kNone;
  std::string error;
};

// Shared with the callbacks: the last one may still be unlocking the mutex when run_throughput returns.
struct Progress {
  std::mutex mutex;
  std::condition_variable changed;
  std::vector<JobState> states;
  size_t in_flight = 0, finished = 0;
};

}  // namespace

double percentile(std::vector<double> values, double p) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  return values[std::min(values.size() - 1, static_cast<size_t>(p / 100.0 * static_cast<double>(values.size())))];
}

ThroughputRun run_throughput(Engine& engine, const std::vector<ThroughputJob>& jobs, int concurrency,
                             GenerationConfig gen, const std::string& progress_label, double progress_every_s) {
  const size_t n = jobs.size(), limit = concurrency > 0 ? static_cast<size_t>(concurrency) : n;
  auto p = std::make_shared<Progress>();
  p->states.resize(n);
  gen.ignore_eos = true;
  auto submit = [&](size_t i) {
    Request r;
    r.prompt_ids = jobs[i].prompt;
    r.gen = gen;
    r.gen.max_new_tokens = jobs[i].output_len;
    p->states[i].submitted = Clock::now();
    engine.submit(std::move(r), [p, i](const GenerationOutput& chunk) {
      const auto now = Clock::now();
      std::lock_guard lock(p->mutex);
      JobState& s = p->states[i];
      if (s.output_tokens == 0 && !chunk.token_ids.empty()) s.first_token = now;
      s.output_tokens = chunk.output_tokens;
      if (chunk.finish_reason == FinishReason::kNone) return;
      s.finished = now;
      s.reason = chunk.finish_reason;
      s.error = chunk.error;
      --p->in_flight;
      ++p->finished;
      p->changed.notify_one();
    });
  };

  ThroughputRun run;
  const EngineStats before = engine.stats();
  const Clock::time_point start = Clock::now();
  {
    std::unique_lock lock(p->mutex);
    std::optional<ProgressLine> progress;
    if (!progress_label.empty()) progress.emplace(progress_label, progress_every_s);
    size_t next = 0;
    while (p->finished < n) {
      while (next < n && p->in_flight < limit) {
        ++p->in_flight;
        const size_t i = next++;
        lock.unlock();
        submit(i);
        lock.lock();
      }
      p->changed.wait_for(lock, std::chrono::milliseconds(2));
      const EngineStats s = engine.stats();
      run.peak_running = std::max(run.peak_running, s.running);
      run.peak_waiting = std::max(run.peak_waiting, s.waiting);
      run.peak_kv_blocks = std::max(run.peak_kv_blocks, s.kv_blocks_used);
      if (progress) {
        progress->report([&] {
          return fmt::format("{} of {} finished, running {}, waiting {}, KV blocks {} of {}", p->finished, n, s.running,
                             s.waiting, s.kv_blocks_used, s.kv_blocks_total);
        });
      }
    }
  }
  run.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  const EngineStats after = engine.stats();
  run.preemptions = after.preemptions - before.preemptions;
  run.prefix_hit_tokens = after.prefix_cache_hit_tokens - before.prefix_cache_hit_tokens;
  for (size_t i = 0; i < n; ++i) {
    const JobState& s = p->states[i];  // every callback has run: no lock needed
    const bool failed = s.reason != FinishReason::kLength;
    const bool short_output = !failed && s.output_tokens != jobs[i].output_len;
    if ((failed || short_output) && run.failed + run.short_outputs == 0) {
      run.first_problem = "finish reason '" + std::string(finish_reason_name(s.reason)) + "' after " +
                          std::to_string(s.output_tokens) + " of " + std::to_string(jobs[i].output_len) + " tokens" +
                          (s.error.empty() ? "" : ": " + s.error);
    }
    run.failed += failed ? 1 : 0;
    run.short_outputs += short_output ? 1 : 0;
    run.input_tokens += static_cast<int64_t>(jobs[i].prompt.size());
    run.output_tokens += s.output_tokens;
    if (s.output_tokens > 0) run.ttft_ms.push_back(ms(s.first_token - s.submitted));
    if (s.output_tokens > 1) run.tpot_ms.push_back(ms(s.finished - s.first_token) / (s.output_tokens - 1));
  }
  return run;
}

}  // namespace turbolm
