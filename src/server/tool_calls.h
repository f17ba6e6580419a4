// Tool calls in generated text (`turbolm serve api_server --tool-call-parser NAME`, LMDeploy's flag): the model
// writes a call as text, the server hands it to the client as OpenAI's `tool_calls`.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace turbolm::server {

// The formats a --tool-call-parser name selects. kHermes: one JSON object per call between tags,
// <tool_call>{"name": "f", "arguments": {...}}</tool_call>, as Qwen2.5, Qwen3, QwQ and Hermes models write them.
enum class ToolCallParser { kNone, kHermes };

// The parser of a --tool-call-parser name (qwen, qwen2d5, qwen3, hermes); throws InvalidArgument naming the known
// names for any other.
ToolCallParser tool_call_parser_from_name(std::string_view name);
const std::vector<std::string>& tool_call_parser_names();

struct ToolCall {
  std::string id;         // "call_" + 24 hex digits
  std::string name;       // the function's name
  std::string arguments;  // a JSON text, as OpenAI's function.arguments ("{}" when the model gave none)
};

// OpenAI's tool call object; with index >= 0 (streamed deltas) it carries its position among the choice's calls.
nlohmann::json tool_call_json(const ToolCall& call, int index = -1);

// Splits generated text into content and tool calls, the text possibly arriving in pieces (a streamed
// choice): text that could still be the start of a call tag is held back, and a call comes out once its end tag has
// arrived. A block whose JSON is not a call (not an object, no string "name") stays content, tags and all, so no
// generated text is lost.
class ToolCallExtractor {
 public:
  struct Piece {
    std::string content;
    std::vector<ToolCall> calls;
  };

  explicit ToolCallExtractor(ToolCallParser parser) : parser_(parser) {}
  Piece feed(std::string_view text);
  Piece finish();  // whatever is held back, as content (a call whose end tag never came)
  int calls() const { return calls_; }

 private:
  ToolCallParser parser_;
  std::string pending_;  // held back: a possible start tag, or a call still open
  bool in_call_ = false;
  int calls_ = 0;
};

}  // namespace turbolm::server
