// POST /v1/completions: whole or streamed legacy text completions, one engine request per prompt. With `echo` and
// `logprobs` the prompt's tokens come first in the logprobs (the first one null), scored by the engine beforehand.
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

// A prompt token's text as it reads after the tokens before it (a few of them decoded as context, so a
// SentencePiece "▁upon" keeps its space); the token alone where the context does not decode to a prefix.
std::string prompt_token_text(const Engine& engine, const std::vector<int32_t>& ids, size_t k) {
  const size_t from = k >= 4 ? k - 4 : 0;
  const std::string before = engine.decode({ids.begin() + from, ids.begin() + k}, false);
  const std::string with = engine.decode({ids.begin() + from, ids.begin() + k + 1}, false);
  return with.starts_with(before) ? with.substr(before.size()) : engine.decode({ids[k]}, false);
}

// The prompt's part of an echoed completion's logprobs: every prompt token, the first with null logprobs (nothing
// precedes it), the others with their scored logprob and top-N. `text_offset` advances past them.
nlohmann::json prompt_logprobs_json(const Engine& engine, const std::vector<int32_t>& ids,
                                    const std::vector<TokenLogprob>& scored, int top_n, size_t& text_offset) {
  nlohmann::json j = {{"tokens", nlohmann::json::array()},
                      {"token_logprobs", nlohmann::json::array()},
                      {"top_logprobs", nlohmann::json::array()},
                      {"text_offset", nlohmann::json::array()}};
  for (size_t k = 0; k < ids.size(); ++k) {
    const std::string text = prompt_token_text(engine, ids, k);
    j["tokens"].push_back(text);
    j["text_offset"].push_back(text_offset);
    text_offset += code_point_count(text);
    if (k == 0 || k - 1 >= scored.size()) {
      j["token_logprobs"].push_back(nullptr);
      j["top_logprobs"].push_back(nullptr);
      continue;
    }
    j["token_logprobs"].push_back(scored[k - 1].logprob);
    j["top_logprobs"].push_back(completion_top_logprobs_json(engine, scored[k - 1], top_n));
  }
  return j;
}

// Appends the generated tokens' logprobs to the prompt's (each field's list goes on).
void append_logprobs(nlohmann::json& into, const nlohmann::json& more) {
  for (const char* key : {"tokens", "token_logprobs", "top_logprobs", "text_offset"}) {
    for (const auto& v : more[key]) into[key].push_back(v);
  }
}

// Prompt logprobs for echo: one scoring run over every prompt (its first token is the context), before generating.
struct EchoedPrompts {
  std::vector<std::string> texts;                   // per prompt
  std::vector<std::vector<int32_t>> ids;            // per prompt, when logprobs are asked for
  std::vector<std::vector<TokenLogprob>> logprobs;  // per prompt: tokens 1.. of ids
  std::vector<size_t> scored_prompt;                // scoring submission -> prompt (one-token prompts have none)
};

// The scoring of every prompt of two tokens or more, with the request's top-N; fills `echoes.ids`.
GenerationRun::Submissions prompt_scoring(ServerContext& ctx, const CompletionParams& p, EchoedPrompts& echoes) {
  GenerationRun::Submissions scoring;
  for (size_t i = 0; i < p.prompts.size(); ++i) {
    std::vector<int32_t> ids = ctx.engine.prompt_ids(p.prompts[i]);
    echoes.ids.push_back(ids);
    if (ids.size() < 2) continue;
    echoes.scored_prompt.push_back(i);
    scoring.submits.push_back(GenerationRun::scoring_of(ctx.engine, std::move(ids), *p.logprobs));
  }
  return scoring;
}

asio::awaitable<void> stream_completions(ServerContext& ctx, Exchange& ex, GenerationRun& run,
                                         const CompletionParams& p, const EchoedPrompts& echoes) {
  if (!co_await ex.begin_stream("text/event-stream")) co_return;
  CompletionInfo info{make_response_id("cmpl-"), unix_time(), ctx.model_name, p.common.include_usage};
  std::vector<size_t> offsets(run.num_choices(), 0);
  std::string buffer;
  for (int c = 0; p.echo && c < run.num_choices(); ++c) {
    const int prompt = c / run.n();
    nlohmann::json logprobs;
    if (p.logprobs) {
      logprobs = prompt_logprobs_json(ctx.engine, echoes.ids[prompt], echoes.logprobs[prompt], *p.logprobs, offsets[c]);
    }
    append_sse_event(buffer, completion_body(info, nlohmann::json::array({completion_choice(
                                                       c, echoes.texts[prompt], std::move(logprobs), nullptr)})));
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
                               const EchoedPrompts& echoes) {
  std::vector<std::string> texts(run.num_choices()), errors(run.num_choices());
  std::vector<std::vector<TokenLogprob>> logprobs(run.num_choices());
  for (int c = 0; p.echo && c < run.num_choices(); ++c) texts[c] = echoes.texts[c / run.n()];
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
    if (p.logprobs && p.echo) {
      const int prompt = c / run.n();
      lp = prompt_logprobs_json(ctx.engine, echoes.ids[prompt], echoes.logprobs[prompt], *p.logprobs, offset);
      append_logprobs(lp, completion_logprobs_json(ctx.engine, logprobs[c], *p.logprobs, offset));
    } else if (p.logprobs) {
      lp = completion_logprobs_json(ctx.engine, logprobs[c], *p.logprobs, offset);
    }
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
  EchoedPrompts echoes;
  for (Request& r : p.prompts) {
    r.gen.max_new_tokens = resolve_max_new_tokens(ctx, p.common.max_tokens);
    if (p.echo) echoes.texts.push_back(r.prompt_ids.empty() ? r.prompt : ctx.engine.decode(r.prompt_ids, false));
  }
  if (p.echo && p.logprobs) {
    echoes.logprobs.resize(p.prompts.size());
    GenerationRun::Submissions scoring = prompt_scoring(ctx, p, echoes);
    if (!scoring.submits.empty()) {
      GenerationRun run(ctx, ex, std::move(scoring), std::nullopt);
      std::vector<std::string> errors(run.num_choices());
      while (auto items = co_await run.next()) {
        for (const QueuedOutput& item : *items) {
          const size_t prompt = echoes.scored_prompt[item.request];
          echoes.logprobs[prompt].insert(echoes.logprobs[prompt].end(), item.output.logprobs.begin(),
                                         item.output.logprobs.end());
          errors[item.request] += item.output.error;
        }
      }
      if (run.client_gone()) co_return;
      throw_if_engine_error(run, errors);
    }
  }
  GenerationRun run(ctx, ex, std::move(p.prompts), p.common.session_id);
  if (p.common.stream) {
    co_await stream_completions(ctx, ex, run, p, echoes);
  } else {
    co_await complete(ctx, ex, run, p, echoes);
  }
}

}  // namespace turbolm::server
