#include "server/tool_calls.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <optional>

#include "core/error.h"
#include "server/openai_format.h"
#include "server/partial_tag.h"

namespace turbolm::server {
namespace {

constexpr std::string_view kOpenTag = "<tool_call>";
constexpr std::string_view kCloseTag = "</tool_call>";

// {"name": "f", "arguments": {...}} (or "parameters", as some fine-tunes write it); anything else is no call.
std::optional<ToolCall> parse_call(std::string_view body) {
  const nlohmann::json j = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return std::nullopt;
  auto name = j.find("name");
  if (name == j.end() || !name->is_string() || name->get_ref<const std::string&>().empty()) return std::nullopt;
  auto args = j.find("arguments");
  if (args == j.end()) args = j.find("parameters");
  std::string arguments = "{}";
  if (args != j.end() && !args->is_null()) {
    arguments = args->is_string() ? args->get<std::string>()
                                  : args->dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  }
  return ToolCall{make_response_id("call_"), name->get<std::string>(), std::move(arguments)};
}

}  // namespace

const std::vector<std::string>& tool_call_parser_names() {
  static const std::vector<std::string> names = {"qwen", "qwen2d5", "qwen3", "hermes"};  // all kHermes
  return names;
}

ToolCallParser tool_call_parser_from_name(std::string_view name) {
  for (const std::string& known : tool_call_parser_names()) {
    if (name == known) return ToolCallParser::kHermes;
  }
  TLM_FAIL(kInvalidArgument) << "unknown tool call parser '" << name
                             << "' (known: " << fmt::format("{}", fmt::join(tool_call_parser_names(), ", ")) << ")";
}

nlohmann::json tool_call_json(const ToolCall& call, int index) {
  nlohmann::json j = {
      {"id", call.id}, {"type", "function"}, {"function", {{"name", call.name}, {"arguments", call.arguments}}}};
  if (index >= 0) j["index"] = index;
  return j;
}

ToolCallExtractor::Piece ToolCallExtractor::feed(std::string_view text) {
  Piece out;
  if (parser_ == ToolCallParser::kNone) {
    out.content = text;
    return out;
  }
  pending_ += text;
  while (true) {
    if (!in_call_) {
      const size_t open = pending_.find(kOpenTag);
      if (open == std::string::npos) {
        const size_t keep = partial_tag_at_end(pending_, kOpenTag);
        out.content += pending_.substr(0, pending_.size() - keep);
        pending_.erase(0, pending_.size() - keep);
        return out;
      }
      out.content += pending_.substr(0, open);
      pending_.erase(0, open + kOpenTag.size());
      in_call_ = true;
    }
    const size_t close = pending_.find(kCloseTag);
    if (close == std::string::npos) return out;  // the call is still open: wait for the rest
    const std::string body = pending_.substr(0, close);
    pending_.erase(0, close + kCloseTag.size());
    in_call_ = false;
    if (std::optional<ToolCall> call = parse_call(body)) {
      out.calls.push_back(std::move(*call));
      ++calls_;
    } else {
      out.content.append(kOpenTag).append(body).append(kCloseTag);
    }
  }
}

ToolCallExtractor::Piece ToolCallExtractor::finish() {
  Piece out;
  if (in_call_) out.content = kOpenTag;
  out.content += pending_;
  pending_.clear();
  in_call_ = false;
  return out;
}

}  // namespace turbolm::server
