// LMDeploy's endpoints: /v1/encode (tokenize), /generate (token in / token out), /abort_request, /get_ppl
// (perplexity of a text).
#include <fmt/format.h>

#include "server/api_error.h"
#include "server/handlers.h"
#include "server/openai_format.h"
#include "server/protocol.h"
#include "server/sse.h"

namespace turbolm::server {

asio::awaitable<void> handle_encode(ServerContext& ctx, Exchange& ex) {
  EncodeParams p = parse_encode(ex.body());
  nlohmann::json ids = nlohmann::json::array(), lengths = nlohmann::json::array();
  for (const std::string& input : p.inputs) {
    std::vector<int32_t> tokens;
    if (p.do_preprocess) {
      Request request;
      request.messages_json = nlohmann::json::array({{{"role", "user"}, {"content", input}}}).dump();
      tokens = ctx.engine.prompt_ids(request);
    } else {
      tokens = ctx.engine.encode(input, p.add_bos);
    }
    lengths.push_back(tokens.size());
    ids.push_back(std::move(tokens));
  }
  nlohmann::json body = p.batched ? nlohmann::json{{"input_ids", ids}, {"length", lengths}}
                                  : nlohmann::json{{"input_ids", ids[0]}, {"length", lengths[0]}};
  co_await respond_json(ex, 200, body);
}

namespace {

// /get_ppl's engine work: the input's first token is the context, every later one is scored. 400 for fewer than two
// tokens (the engine refuses ids outside the vocabulary and inputs longer than session_len).
GenerationRun::Submissions ppl_scoring(ServerContext& ctx, PplParams p, int64_t& to_score) {
  std::vector<int32_t> ids = p.text ? ctx.engine.encode(*p.text, /*add_special_tokens=*/true) : std::move(p.ids);
  if (ids.size() < 2) {
    throw ApiError::invalid_request(fmt::format("input has {} token(s): the perplexity needs at least 2", ids.size()),
                                    "input");
  }
  to_score = static_cast<int64_t>(ids.size()) - 1;
  GenerationRun::Submissions scoring;
  scoring.submits.push_back(GenerationRun::scoring_of(ctx.engine, std::move(ids), /*top_logprobs=*/0));
  return scoring;
}

// The response once every token is scored, or the error that stopped it.
nlohmann::json ppl_body(const GenerationRun& run, double sum_logprob, int64_t scored, int64_t to_score,
                        const std::vector<std::string>& errors) {
  throw_if_engine_error(run, errors);
  if (run.finish_reason(0) == FinishReason::kAbort) {
    throw ApiError::unavailable(
        "the request was aborted before it was scored (server shutting down or /abort_request)");
  }
  if (scored != to_score) throw ApiError::internal(fmt::format("scored {} of {} tokens", scored, to_score));
  return {{"ppl", -sum_logprob / static_cast<double>(scored)}};
}

}  // namespace

// LMDeploy's {"ppl": mean negative log-likelihood in nats} (its name; exp of it is the perplexity) of every token
// but the first, given the ones before it.
asio::awaitable<void> handle_get_ppl(ServerContext& ctx, Exchange& ex) {
  int64_t to_score = 0;
  GenerationRun run(ctx, ex, ppl_scoring(ctx, parse_get_ppl(ex.body()), to_score), std::nullopt);
  double sum_logprob = 0;
  int64_t scored = 0;
  std::vector<std::string> errors(1);
  while (auto items = co_await run.next()) {
    for (const QueuedOutput& item : *items) {
      for (const TokenLogprob& lp : item.output.logprobs) sum_logprob += lp.logprob;
      scored += static_cast<int64_t>(item.output.logprobs.size());
      errors[0] += item.output.error;
    }
  }
  if (run.client_gone()) co_return;
  co_await respond_json(ex, 200, ppl_body(run, sum_logprob, scored, to_score, errors));
}

namespace {

// LMDeploy's GenerateReqOutput: {text, output_ids, meta_info{prompt_tokens, completion_tokens, finish_reason,
// output_token_logprobs: [[logprob, id], ...]}}.
nlohmann::json generate_body(const GenerationRun& run, std::string text, const std::vector<int32_t>& ids,
                             const std::vector<TokenLogprob>& logprobs, bool return_logprob, FinishReason finish) {
  nlohmann::json meta = {{"prompt_tokens", run.prompt_tokens()}, {"completion_tokens", run.completion_tokens()}};
  const char* reason = finish_reason_string(finish);
  meta["finish_reason"] = reason ? nlohmann::json{{"type", reason}} : nlohmann::json();
  if (return_logprob) {
    nlohmann::json pairs = nlohmann::json::array();
    for (const TokenLogprob& lp : logprobs) pairs.push_back({lp.logprob, lp.token});
    meta["output_token_logprobs"] = std::move(pairs);
  }
  return {{"text", std::move(text)}, {"output_ids", ids}, {"meta_info", std::move(meta)}};
}

}  // namespace

asio::awaitable<void> handle_generate(ServerContext& ctx, Exchange& ex) {
  GenerateParams p = parse_generate(ex.body());
  p.request.gen.max_new_tokens = resolve_max_new_tokens(ctx, p.common.max_tokens);
  std::vector<Request> requests;
  requests.push_back(std::move(p.request));
  GenerationRun run(ctx, ex, std::move(requests), p.common.session_id);

  if (p.common.stream) {
    if (!co_await ex.begin_stream("text/event-stream")) co_return;
    while (auto items = co_await run.next()) {
      std::string buffer;
      for (const QueuedOutput& item : *items) {
        const GenerationOutput& out = item.output;
        append_sse_event(
            buffer, generate_body(run, out.text, out.token_ids, out.logprobs, p.return_logprob, out.finish_reason));
      }
      if (!co_await ex.write_stream(std::move(buffer))) co_return;
    }
    if (!run.client_gone()) co_await ex.end_stream();
    co_return;
  }

  std::string text, error;
  std::vector<int32_t> ids;
  std::vector<TokenLogprob> logprobs;
  while (auto items = co_await run.next()) {
    for (const QueuedOutput& item : *items) {
      text += item.output.text;
      error += item.output.error;
      ids.insert(ids.end(), item.output.token_ids.begin(), item.output.token_ids.end());
      logprobs.insert(logprobs.end(), item.output.logprobs.begin(), item.output.logprobs.end());
    }
  }
  if (run.client_gone()) co_return;
  throw_if_engine_error(run, {error});
  co_await respond_json(ex, 200, generate_body(run, text, ids, logprobs, p.return_logprob, run.finish_reason(0)));
}

asio::awaitable<void> handle_abort(ServerContext& ctx, Exchange& ex) {
  AbortParams p = parse_abort(ex.body());
  int aborted = p.abort_all ? ctx.registry.abort_all() : ctx.registry.abort_session(*p.session_id);
  nlohmann::json body = {{"aborted", aborted}};  // named: g++ 12 rejects a braced list as a co_await argument
  co_await respond_json(ex, 200, body);
}

}  // namespace turbolm::server
