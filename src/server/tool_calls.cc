#include "server/tool_calls.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <optional>
#include <utility>

#include "core/error.h"
#include "server/openai_format.h"
#include "server/partial_tag.h"

namespace turbolm::server {
namespace {

constexpr std::string_view kHermesOpen = "<tool_call>";
constexpr std::string_view kHermesClose = "</tool_call>";
constexpr std::string_view kInternLMOpen = "<|action_start|><|plugin|>";  // <|action_start|><|interpreter|> is code
constexpr std::string_view kInternLMClose = "<|action_end|>";
constexpr std::string_view kPythonTag = "<|python_tag|>";  // Llama 3's call marker, when special tokens are shown
constexpr std::string_view kBlank = " \t\r\n";
constexpr std::string_view kObjectSeparators = "; \t\r\n";  // between the JSON objects of a Llama 3 reply

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

// The top-level JSON objects of `text`, separated by ';' or blanks ({...}; {...}); nullopt if anything else is there
// or an object is not closed. Braces inside strings do not count.
std::optional<std::vector<std::string_view>> json_objects(std::string_view text) {
  std::vector<std::string_view> objects;
  for (size_t i = text.find_first_not_of(kObjectSeparators); i != std::string_view::npos;
       i = text.find_first_not_of(kObjectSeparators, i)) {
    if (text[i] != '{') return std::nullopt;
    int depth = 0;
    bool in_string = false, escaped = false;
    size_t end = i;
    for (; end < text.size(); ++end) {
      const char c = text[end];
      if (in_string) {
        if (escaped) {
          escaped = false;
        } else if (c == '\\') {
          escaped = true;
        } else if (c == '"') {
          in_string = false;
        }
      } else if (c == '"') {
        in_string = true;
      } else if (c == '{') {
        ++depth;
      } else if (c == '}' && --depth == 0) {
        break;
      }
    }
    if (end == text.size()) return std::nullopt;
    objects.push_back(text.substr(i, end + 1 - i));
    i = end + 1;
  }
  if (objects.empty()) return std::nullopt;
  return objects;
}

// Every --tool-call-parser name and its parser.
constexpr std::pair<std::string_view, ToolCallParser> kParsers[] = {
    {"qwen", ToolCallParser::kHermes},       {"qwen2d5", ToolCallParser::kHermes},
    {"qwen3", ToolCallParser::kHermes},      {"hermes", ToolCallParser::kHermes},
    {"llama3", ToolCallParser::kLlama3Json}, {"internlm", ToolCallParser::kInternLM},
    {"intern-s1", ToolCallParser::kInternLM}};

}  // namespace

const std::vector<std::string>& tool_call_parser_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> out;
    for (const auto& [name, parser] : kParsers) out.emplace_back(name);
    return out;
  }();
  return names;
}

ToolCallParser tool_call_parser_from_name(std::string_view name) {
  for (const auto& [known, parser] : kParsers) {
    if (name == known) return parser;
  }
  TLM_FAIL(kInvalidArgument) << "unknown tool call parser '" << name
                             << "' (known: " << fmt::format("{}", fmt::join(tool_call_parser_names(), ", ")) << ")";
}

std::vector<std::string_view> tool_call_markers(ToolCallParser parser) {
  switch (parser) {
    case ToolCallParser::kHermes: return {kHermesOpen, kHermesClose};
    case ToolCallParser::kInternLM: return {"<|action_start|>", "<|plugin|>", kInternLMClose};
    case ToolCallParser::kLlama3Json:
    case ToolCallParser::kNone: break;
  }
  return {};
}

bool tool_call_markers_are_special(ToolCallParser parser) { return parser == ToolCallParser::kInternLM; }

nlohmann::json tool_call_json(const ToolCall& call, int index) {
  nlohmann::json j = {
      {"id", call.id}, {"type", "function"}, {"function", {{"name", call.name}, {"arguments", call.arguments}}}};
  if (index >= 0) j["index"] = index;
  return j;
}

ToolCallExtractor::ToolCallExtractor(ToolCallParser parser) : parser_(parser) {
  if (parser == ToolCallParser::kHermes) {
    open_tag_ = kHermesOpen;
    close_tag_ = kHermesClose;
  } else if (parser == ToolCallParser::kInternLM) {
    open_tag_ = kInternLMOpen;
    close_tag_ = kInternLMClose;
  }
}

ToolCallExtractor::Piece ToolCallExtractor::feed(std::string_view text) {
  if (!open_tag_.empty()) return feed_tagged(text);
  if (parser_ == ToolCallParser::kLlama3Json) return feed_json(text);
  Piece out;
  out.content = text;
  return out;
}

ToolCallExtractor::Piece ToolCallExtractor::feed_json(std::string_view text) {
  Piece out;
  pending_ += text;
  if (json_reply_ == JsonReply::kUndecided) {
    const size_t begin = pending_.find_first_not_of(kBlank);
    if (begin == std::string::npos) return out;  // blanks so far
    const std::string_view start = std::string_view(pending_).substr(begin);
    if (start.starts_with('{') || start.starts_with(kPythonTag)) {
      json_reply_ = JsonReply::kJson;
    } else if (!kPythonTag.starts_with(start)) {
      json_reply_ = JsonReply::kText;
    }
  }
  if (json_reply_ == JsonReply::kText) out.content = std::exchange(pending_, {});
  return out;  // a JSON reply is read whole in finish()
}

ToolCallExtractor::Piece ToolCallExtractor::feed_tagged(std::string_view text) {
  Piece out;
  pending_ += text;
  while (true) {
    if (!in_call_) {
      const size_t open = pending_.find(open_tag_);
      if (open == std::string::npos) {
        out.content += take_all_but_partial_tag(pending_, open_tag_);
        return out;
      }
      out.content += pending_.substr(0, open);
      pending_.erase(0, open + open_tag_.size());
      in_call_ = true;
    }
    const size_t close = pending_.find(close_tag_);
    if (close == std::string::npos) return out;  // the call is still open: wait for the rest
    const std::string body = pending_.substr(0, close);
    pending_.erase(0, close + close_tag_.size());
    in_call_ = false;
    if (std::optional<ToolCall> call = parse_call(body)) {
      out.calls.push_back(std::move(*call));
      ++calls_;
    } else {
      out.content.append(open_tag_).append(body).append(close_tag_);
    }
  }
}

ToolCallExtractor::Piece ToolCallExtractor::finish() {
  Piece out;
  if (parser_ == ToolCallParser::kLlama3Json && json_reply_ == JsonReply::kJson) {
    std::string_view reply = std::string_view(pending_).substr(pending_.find_first_not_of(kBlank));
    if (reply.starts_with(kPythonTag)) reply.remove_prefix(kPythonTag.size());
    std::vector<ToolCall> calls;
    if (auto objects = json_objects(reply)) {
      for (std::string_view object : *objects) {
        std::optional<ToolCall> call = parse_call(object);
        if (!call) break;
        calls.push_back(std::move(*call));
      }
      if (calls.size() == objects->size()) {
        calls_ += static_cast<int>(calls.size());
        out.calls = std::move(calls);
        pending_.clear();
      }
    }
  }
  // InternLM's templates stop generation at <|action_end|> (a stop word, so not in the text): a call at the end of
  // the reply needs no end tag. A cut-short call's JSON does not parse and stays text.
  if (in_call_ && parser_ == ToolCallParser::kInternLM) {
    if (std::optional<ToolCall> call = parse_call(pending_)) {
      out.calls.push_back(std::move(*call));
      ++calls_;
      pending_.clear();
      in_call_ = false;
    }
  }
  if (in_call_) out.content = open_tag_;
  out.content += pending_;
  pending_.clear();
  in_call_ = false;
  return out;
}

}  // namespace turbolm::server
