#include "server/generation_run.h"

#include <fmt/format.h>

#include <atomic>

namespace turbolm::server {

struct GenerationRun::Shared {
  std::shared_ptr<OutputQueue> queue;
  std::vector<std::shared_ptr<RequestHandle>> handles;
  std::atomic<bool> gone{false};

  void cancel_all() {
    for (const auto& handle : handles) handle->cancel();
  }
};

const char* finish_reason_string(FinishReason reason) {
  switch (reason) {
    case FinishReason::kStop: return "stop";
    case FinishReason::kLength: return "length";
    case FinishReason::kAbort: return "abort";
    case FinishReason::kError: return "error";
    case FinishReason::kNone: break;
  }
  return nullptr;
}

namespace {

GenerationRun::Submissions submissions_of(Engine& engine, std::vector<Request> requests) {
  GenerationRun::Submissions s;
  s.n = requests.empty() ? 1 : requests.front().gen.n;
  for (Request& request : requests) {
    s.submits.push_back([&engine, request = std::move(request)](OutputCallback on_output) mutable {
      return engine.submit(std::move(request), std::move(on_output));
    });
  }
  return s;
}

}  // namespace

GenerationRun::Submit GenerationRun::scoring_of(Engine& engine, std::vector<int32_t> ids, int top_logprobs) {
  return [&engine, ids = std::move(ids), top_logprobs](OutputCallback on_output) {
    return engine.submit_scoring({ids.front()}, {ids.begin() + 1, ids.end()}, top_logprobs, std::move(on_output));
  };
}

GenerationRun::GenerationRun(ServerContext& ctx, Exchange& exchange, std::vector<Request> requests,
                             std::optional<int64_t> session_id)
    : GenerationRun(ctx, exchange, submissions_of(ctx.engine, std::move(requests)), session_id) {}

GenerationRun::GenerationRun(ServerContext& ctx, Exchange& exchange, Submissions submissions,
                             std::optional<int64_t> session_id)
    : ctx_(ctx), shared_(std::make_shared<Shared>()), start_(std::chrono::steady_clock::now()) {
  int limit = ctx.config.max_concurrent_requests;
  int in_flight = ++ctx.generations_in_flight;
  if (limit > 0 && in_flight > limit) {
    --ctx.generations_in_flight;
    throw ApiError::too_many_requests(
        fmt::format("Too many concurrent requests: the server handles at most {} at once; retry later.", limit));
  }
  ctx.metrics.set_in_progress(in_flight);
  n_ = submissions.n;
  const size_t count = submissions.submits.size();
  input_tokens_.assign(count, 0);
  cached_tokens_.assign(count, 0);
  output_tokens_.assign(count * n_, 0);
  finish_.assign(count * n_, FinishReason::kNone);
  shared_->queue = std::make_shared<OutputQueue>(exchange.executor());
  try {
    for (size_t i = 0; i < count; ++i) {
      auto queue = shared_->queue;
      int index = static_cast<int>(i);
      auto handle = submissions.submits[i]([queue, index](const GenerationOutput& out) { queue->push(index, out); });
      shared_->handles.push_back(handle);
      registry_keys_.push_back(ctx.registry.add(session_id, std::move(handle)));
    }
  } catch (...) {
    shared_->cancel_all();
    for (uint64_t key : registry_keys_) ctx.registry.remove(key);
    ctx.metrics.set_in_progress(--ctx.generations_in_flight);
    throw;
  }
  exchange.watch_disconnect([shared = shared_] {
    shared->gone = true;
    shared->cancel_all();
    shared->queue->wake();
  });
}

GenerationRun::~GenerationRun() {
  // Dropped before every choice finished (client gone, write failed, handler threw): free the KV now.
  if (finished_ < num_choices()) shared_->cancel_all();
  for (uint64_t key : registry_keys_) ctx_.registry.remove(key);
  release_slot();

  RequestRecord record;
  record.finish_reason = "stop";
  for (FinishReason reason : finish_) {
    if (reason == FinishReason::kError || reason == FinishReason::kAbort || reason == FinishReason::kNone) {
      record.finish_reason = reason == FinishReason::kError ? "error" : "abort";
      break;
    }
    if (reason == FinishReason::kLength) record.finish_reason = "length";
  }
  record.prompt_tokens = prompt_tokens();
  record.generation_tokens = completion_tokens();
  auto seconds = [this](std::chrono::steady_clock::time_point t) {
    return std::chrono::duration<double>(t - start_).count();
  };
  record.e2e_s = seconds(std::chrono::steady_clock::now());
  if (first_token_) record.ttft_s = seconds(*first_token_);
  ctx_.metrics.record_request(record);
}

void GenerationRun::release_slot() {
  if (!holds_slot_) return;
  holds_slot_ = false;
  ctx_.metrics.set_in_progress(--ctx_.generations_in_flight);
}

void GenerationRun::cancel() { shared_->cancel_all(); }

bool GenerationRun::client_gone() const { return shared_->gone; }

asio::awaitable<std::optional<std::vector<QueuedOutput>>> GenerationRun::next() {
  while (!shared_->gone && finished_ < num_choices()) {
    std::vector<QueuedOutput> items = co_await shared_->queue->wait();
    // An engine that reports an index outside n would break the handlers' per-choice state; drop such output.
    std::erase_if(items, [this](const QueuedOutput& item) {
      int choice = choice_of(item, n_);
      return item.output.index < 0 || item.output.index >= n_ || choice >= num_choices();
    });
    if (items.empty()) continue;
    for (const QueuedOutput& item : items) {
      const GenerationOutput& out = item.output;
      int choice = choice_of(item, n_);
      input_tokens_[item.request] = std::max(input_tokens_[item.request], out.input_tokens);
      // The prompt ran once, for choice 0; the engine forks choices 1..n-1 from its KV blocks, so they report the
      // whole prompt as cached. Usage counts the prompt once (prompt_tokens), and its cache hits with it.
      if (out.index == 0) cached_tokens_[item.request] = std::max(cached_tokens_[item.request], out.cached_tokens);
      output_tokens_[choice] += static_cast<int64_t>(out.token_ids.size());
      if (!first_token_ && !out.token_ids.empty()) first_token_ = std::chrono::steady_clock::now();
      if (out.finish_reason != FinishReason::kNone && finish_[choice] == FinishReason::kNone) {
        finish_[choice] = out.finish_reason;
        ++finished_;
      }
    }
    // The engine is done: the slot is free before the response is written, so a client that sends its next
    // request as soon as it has this one's answer is not refused (429).
    if (finished_ == num_choices()) release_slot();
    co_return items;
  }
  co_return std::nullopt;
}

int64_t GenerationRun::prompt_tokens() const {
  int64_t total = 0;
  for (int t : input_tokens_) total += t;
  return total;
}

int64_t GenerationRun::completion_tokens() const {
  int64_t total = 0;
  for (int64_t t : output_tokens_) total += t;
  return total;
}

int64_t GenerationRun::cached_tokens() const {
  int64_t total = 0;
  for (int t : cached_tokens_) total += t;
  return total;
}

}  // namespace turbolm::server
