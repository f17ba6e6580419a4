// POST /v1/completions: whole or streamed legacy text completions, one engine request per prompt.
#include "server/handlers.h"
#include "server/openai_format.h"
#include "server/protocol.h"
#include "server/sse.h"

namespace turbolm::server {
namespace {

struct CompletionInfo {
  std::string id;
  int64_t created;
  const std::string& model;
  bool include_usage;
};

nlohmann::json completion_body(const CompletionInfo& info, nlohmann::json choices) {
  nlohmann::json body = {{"id", info.id},       {"object", "text_completion"},   {"created", info.created},
                         {"model", info.model}, {"system_fingerprint", nullptr}, {"choices", std::move(choices)}};
  if (info.include_usage) body["usage"] = nullptr;
  return body;
}

nlohmann::json completion_choice(int index, std::string text, nlohmann::json logprobs, const char* finish) {
  return {{"index", index},
          {"text", std::move(text)},
          {"logprobs", std::move(logprobs)},
          {"finish_reason", finish ? nlohmann::json(finish) : nlohmann::json()}};
}

asio::awaitable<void> stream_completions(ServerContext& ctx, Exchange& ex, GenerationRun& run,
                                         const CompletionParams& p, const std::vector<std::string>& echoes) {
  if (!co_await ex.begin_stream("text/event-stream")) co_return;
  CompletionInfo info{make_response_id("cmpl-"), unix_time(), ctx.model_name, p.common.include_usage};
  std::vector<size_t> offsets(run.num_choices(), 0);
  std::string buffer;
  for (int c = 0; p.echo && c < run.num_choices(); ++c) {
    const std::string& echo = echoes[c / run.n()];
    offsets[c] = echo.size();
    append_sse_event(buffer,
                     completion_body(info, nlohmann::json::array({completion_choice(c, echo, nullptr, nullptr)})));
  }
  while (auto items = co_await run.next()) {
    for (const QueuedOutput& item : *items) {
      const GenerationOutput& out = item.output;
      const char* finish = finish_reason_string(out.finish_reason);
      if (out.text.empty() && !finish && out.logprobs.empty()) continue;
      int c = GenerationRun::choice_of(item, run.n());
      nlohmann::json logprobs;
      if (p.logprobs) logprobs = completion_logprobs_json(ctx.engine, out.logprobs, *p.logprobs, offsets[c]);
      append_sse_event(
          buffer,
          completion_body(info, nlohmann::json::array({completion_choice(c, out.text, std::move(logprobs), finish)})));
      if (out.finish_reason == FinishReason::kError) {
        append_sse_event(buffer, ApiError::internal("generation failed: " + out.error).body());
      }
    }
    if (!buffer.empty() && !co_await ex.write_stream(std::move(buffer))) co_return;  // ~GenerationRun cancels
    buffer.clear();
  }
  if (run.client_gone()) co_return;
  if (p.common.include_usage) {
    nlohmann::json chunk = completion_body(info, nlohmann::json::array());
    chunk["usage"] = usage_json(run);
    append_sse_event(buffer, chunk);
  }
  buffer += sse_done();
  if (co_await ex.write_stream(std::move(buffer))) co_await ex.end_stream();
}

asio::awaitable<void> complete(ServerContext& ctx, Exchange& ex, GenerationRun& run, const CompletionParams& p,
                               const std::vector<std::string>& echoes) {
  std::vector<std::string> texts(run.num_choices()), errors(run.num_choices());
  std::vector<std::vector<TokenLogprob>> logprobs(run.num_choices());
  for (int c = 0; p.echo && c < run.num_choices(); ++c) texts[c] = echoes[c / run.n()];
  while (auto items = co_await run.next()) {
    for (const QueuedOutput& item : *items) {
      int c = GenerationRun::choice_of(item, run.n());
      texts[c] += item.output.text;
      errors[c] += item.output.error;
      logprobs[c].insert(logprobs[c].end(), item.output.logprobs.begin(), item.output.logprobs.end());
    }
  }
  if (run.client_gone()) co_return;
  throw_if_engine_error(run, errors);
  nlohmann::json choices = nlohmann::json::array();
  for (int c = 0; c < run.num_choices(); ++c) {
    nlohmann::json lp;
    size_t offset = 0;
    if (p.logprobs) lp = completion_logprobs_json(ctx.engine, logprobs[c], *p.logprobs, offset);
    choices.push_back(
        completion_choice(c, std::move(texts[c]), std::move(lp), finish_reason_string(run.finish_reason(c))));
  }
  CompletionInfo info{make_response_id("cmpl-"), unix_time(), ctx.model_name, false};
  nlohmann::json body = completion_body(info, std::move(choices));
  body["usage"] = usage_json(run);
  co_await respond_json(ex, 200, body);
}

}  // namespace

asio::awaitable<void> handle_completions(ServerContext& ctx, Exchange& ex) {
  CompletionParams p = parse_completion(ex.body());
  check_model(ctx, p.common.model);
  std::vector<std::string> echoes;
  for (Request& r : p.prompts) {
    r.gen.max_new_tokens = resolve_max_new_tokens(ctx, p.common.max_tokens);
    if (p.echo) echoes.push_back(r.prompt_ids.empty() ? r.prompt : ctx.engine.decode(r.prompt_ids, false));
  }
  GenerationRun run(ctx, ex, std::move(p.prompts), p.common.session_id);
  if (p.common.stream) {
    co_await stream_completions(ctx, ex, run, p, echoes);
  } else {
    co_await complete(ctx, ex, run, p, echoes);
  }
}

}  // namespace turbolm::server
