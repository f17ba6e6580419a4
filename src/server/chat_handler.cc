// POST /v1/chat/completions: whole or streamed (SSE) chat completions.
#include "server/chat_output_parser.h"
#include "server/handlers.h"
#include "server/openai_format.h"
#include "server/protocol.h"
#include "server/sse.h"

namespace turbolm::server {
namespace {

struct ChatStreamInfo {
  std::string id;
  int64_t created;
  const std::string& model;
  bool include_usage;
};

nlohmann::json chat_chunk(const ChatStreamInfo& info, nlohmann::json choices) {
  nlohmann::json chunk = {{"id", info.id},       {"object", "chat.completion.chunk"}, {"created", info.created},
                          {"model", info.model}, {"system_fingerprint", nullptr},     {"choices", std::move(choices)}};
  if (info.include_usage) chunk["usage"] = nullptr;  // OpenAI: null on every chunk but the usage one
  return chunk;
}

std::string_view trim_whitespace(std::string_view s) {
  const size_t begin = s.find_first_not_of(" \t\r\n");
  if (begin == std::string_view::npos) return {};
  return s.substr(begin, s.find_last_not_of(" \t\r\n") + 1 - begin);
}

// A choice that called tools ends with "tool_calls" where its text stopped by itself (OpenAI, LMDeploy).
const char* chat_finish_reason(FinishReason reason, bool called_tools) {
  return called_tools && reason == FinishReason::kStop ? "tool_calls" : finish_reason_string(reason);
}

// A stream chunk's delta: the piece's reasoning, content and tool calls (numbered on from `calls_before`).
nlohmann::json chat_delta(ChatOutputParser::Piece piece, int calls_before) {
  nlohmann::json delta = nlohmann::json::object();
  if (!piece.reasoning.empty()) delta["reasoning_content"] = std::move(piece.reasoning);
  if (!piece.content.empty()) delta["content"] = std::move(piece.content);
  if (!piece.calls.empty()) {
    nlohmann::json calls = nlohmann::json::array();
    for (const ToolCall& call : piece.calls) calls.push_back(tool_call_json(call, calls_before++));
    delta["tool_calls"] = std::move(calls);
  }
  return delta;
}

asio::awaitable<void> stream_chat(ServerContext& ctx, Exchange& ex, GenerationRun& run, const ChatCompletionParams& p,
                                  const ChatParsers& parsers) {
  if (!co_await ex.begin_stream("text/event-stream")) co_return;
  ChatStreamInfo info{make_response_id("chatcmpl-"), unix_time(), ctx.model_name, p.common.include_usage};
  std::string buffer;
  for (int c = 0; c < run.num_choices(); ++c) {
    nlohmann::json choice = {{"index", c},
                             {"delta", {{"role", "assistant"}, {"content", ""}}},
                             {"logprobs", nullptr},
                             {"finish_reason", nullptr}};
    append_sse_event(buffer, chat_chunk(info, nlohmann::json::array({choice})));
  }
  if (!co_await ex.write_stream(std::move(buffer))) co_return;

  // Per choice: its text split into reasoning, content and tool calls (all content when the parsers are off).
  std::vector<ChatOutputParser> outputs(run.num_choices(), ChatOutputParser(parsers));
  while (auto items = co_await run.next()) {
    buffer.clear();
    for (const QueuedOutput& item : *items) {
      const GenerationOutput& out = item.output;
      const int c = GenerationRun::choice_of(item, run.n());
      ChatOutputParser::Piece piece = outputs[c].feed(out.text, out.finish_reason != FinishReason::kNone);
      const char* finish = chat_finish_reason(out.finish_reason, outputs[c].calls() > 0);
      if (piece.reasoning.empty() && piece.content.empty() && piece.calls.empty() && !finish && out.logprobs.empty())
        continue;
      const int calls_before = outputs[c].calls() - static_cast<int>(piece.calls.size());
      nlohmann::json choice = {{"index", c},
                               {"delta", chat_delta(std::move(piece), calls_before)},
                               {"logprobs", nullptr},
                               {"finish_reason", finish ? nlohmann::json(finish) : nlohmann::json()}};
      if (p.logprobs && !out.logprobs.empty()) {
        choice["logprobs"] = {{"content", chat_logprobs_json(ctx.engine, out.logprobs, p.top_logprobs)}};
      }
      append_sse_event(buffer, chat_chunk(info, nlohmann::json::array({choice})));
      if (out.finish_reason == FinishReason::kError) {
        append_sse_event(buffer, ApiError::internal("generation failed: " + out.error).body());
      }
    }
    if (!buffer.empty() && !co_await ex.write_stream(std::move(buffer))) co_return;  // ~GenerationRun cancels
  }
  if (run.client_gone()) co_return;
  buffer.clear();
  if (p.common.include_usage) {
    nlohmann::json chunk = chat_chunk(info, nlohmann::json::array());
    chunk["usage"] = usage_json(run);
    append_sse_event(buffer, chunk);
  }
  buffer += sse_done();
  if (co_await ex.write_stream(std::move(buffer))) co_await ex.end_stream();
}

asio::awaitable<void> complete_chat(ServerContext& ctx, Exchange& ex, GenerationRun& run, const ChatCompletionParams& p,
                                    const ChatParsers& parsers) {
  std::vector<std::string> texts(run.num_choices()), errors(run.num_choices());
  std::vector<nlohmann::json> logprobs(run.num_choices(), nlohmann::json::array());
  while (auto items = co_await run.next()) {
    for (const QueuedOutput& item : *items) {
      int c = GenerationRun::choice_of(item, run.n());
      texts[c] += item.output.text;
      errors[c] += item.output.error;
      if (p.logprobs) {
        for (auto& entry : chat_logprobs_json(ctx.engine, item.output.logprobs, p.top_logprobs)) {
          logprobs[c].push_back(std::move(entry));
        }
      }
    }
  }
  if (run.client_gone()) co_return;
  throw_if_engine_error(run, errors);
  nlohmann::json choices = nlohmann::json::array();
  for (int c = 0; c < run.num_choices(); ++c) {
    ChatOutputParser::Piece piece = ChatOutputParser(parsers).feed(texts[c], /*last=*/true);
    nlohmann::json message = {{"role", "assistant"}, {"content", piece.content}};
    if (parsers.reasoning != ReasoningParser::kNone) {  // null where the model did not reason
      const std::string_view reasoning = trim_whitespace(piece.reasoning);
      message["reasoning_content"] = reasoning.empty() ? nlohmann::json() : nlohmann::json(std::string(reasoning));
    }
    if (!piece.calls.empty()) {
      // The text around the calls, trimmed as LMDeploy's parsers trim it; none at all is null, as OpenAI sends it.
      const std::string_view content = trim_whitespace(piece.content);
      message["content"] = content.empty() ? nlohmann::json() : nlohmann::json(std::string(content));
      message["tool_calls"] = nlohmann::json::array();
      for (const ToolCall& call : piece.calls) message["tool_calls"].push_back(tool_call_json(call));
    }
    choices.push_back({{"index", c},
                       {"message", std::move(message)},
                       {"logprobs", p.logprobs ? nlohmann::json{{"content", logprobs[c]}} : nlohmann::json()},
                       {"finish_reason", chat_finish_reason(run.finish_reason(c), !piece.calls.empty())}});
  }
  nlohmann::json body = {{"id", make_response_id("chatcmpl-")},
                         {"object", "chat.completion"},
                         {"created", unix_time()},
                         {"model", ctx.model_name},
                         {"system_fingerprint", nullptr},
                         {"choices", std::move(choices)},
                         {"usage", usage_json(run)}};
  co_await respond_json(ex, 200, body);
}

}  // namespace

asio::awaitable<void> handle_chat_completions(ServerContext& ctx, Exchange& ex) {
  ChatCompletionParams p = parse_chat_completion(ex.body());
  check_model(ctx, p.common.model);
  p.request.gen.max_new_tokens = resolve_max_new_tokens(ctx, p.common.max_tokens);
  // Tool calls are looked for only where the request offered tools (and tool_choice did not turn them off).
  const ChatParsers parsers{p.thinking_off ? ReasoningParser::kNone : ctx.config.reasoning_parser,
                            p.request.tools_json.empty() ? ToolCallParser::kNone : ctx.config.tool_call_parser};
  if (tool_call_markers_are_special(parsers.tools)) p.request.gen.skip_special_tokens = false;
  std::vector<Request> requests;
  requests.push_back(std::move(p.request));
  GenerationRun run(ctx, ex, std::move(requests), p.common.session_id);
  if (p.common.stream) {
    co_await stream_chat(ctx, ex, run, p, parsers);
  } else {
    co_await complete_chat(ctx, ex, run, p, parsers);
  }
}

}  // namespace turbolm::server
