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
// kLlama3Json: a reply that is nothing but JSON objects {"name": "f", "parameters": {...}} (separated by ';'),
// possibly after <|python_tag|>, as Llama 3.1-3.3 write calls; any other reply is content. kInternLM: InternLM2 /
// 2.5 / 3 and Intern-S1's <|action_start|><|plugin|>\n{"name": "f", "parameters": {...}}<|action_end|>, whose markers
// are special tokens.
enum class ToolCallParser { kNone, kHermes, kLlama3Json, kInternLM };

// The parser of a --tool-call-parser name (qwen, qwen2d5, qwen3, hermes: kHermes; llama3: kLlama3Json; internlm,
// intern-s1: kInternLM); throws InvalidArgument naming the known names for any other.
ToolCallParser tool_call_parser_from_name(std::string_view name);
const std::vector<std::string>& tool_call_parser_names();

// The tags the parser looks for, each one token of the tokenizers of the models that write that format (none for
// kLlama3Json, whose calls are plain JSON).
std::vector<std::string_view> tool_call_markers(ToolCallParser parser);

// Whether the parser's call markers are special tokens, so the text it reads must be detokenized with them
// (skip_special_tokens false, as LMDeploy's InternLM parser sets it).
bool tool_call_markers_are_special(ToolCallParser parser);

struct ToolCall {
  std::string id;         // "call_" + 24 hex digits
  std::string name;       // the function's name
  std::string arguments;  // a JSON text, as OpenAI's function.arguments ("{}" when the model gave none)
};

// OpenAI's tool call object; with index >= 0 (streamed deltas) it carries its position among the choice's calls.
nlohmann::json tool_call_json(const ToolCall& call, int index = -1);

// Splits generated text into content and tool calls, the text possibly arriving in pieces (a streamed
// choice). kHermes and kInternLM: text that could still be the start of a call tag is held back, and a call comes out
// once its end tag has arrived; a block whose JSON is not a call (not an object, no string "name") stays content, tags
// and all, so no generated text is lost. kLlama3Json: a reply whose first non-blank character opens a JSON object is
// held back to its end, then is calls if every object is one, else content; any other reply streams as content.
class ToolCallExtractor {
 public:
  struct Piece {
    std::string content;
    std::vector<ToolCall> calls;
  };

  explicit ToolCallExtractor(ToolCallParser parser);
  Piece feed(std::string_view text);
  // Whatever is held back, as content (a call whose end tag never came), except a whole Llama 3 reply of calls
  // and, for kInternLM, a last call whose JSON is complete (its end tag is the template's stop word).
  Piece finish();
  int calls() const { return calls_; }

 private:
  Piece feed_tagged(std::string_view text);
  Piece feed_json(std::string_view text);

  ToolCallParser parser_;
  std::string_view open_tag_, close_tag_;  // a tagged parser's markers
  std::string pending_;                    // held back: a possible start tag, a call still open, or a JSON reply
  bool in_call_ = false;
  enum class JsonReply { kUndecided, kJson, kText } json_reply_ = JsonReply::kUndecided;
  int calls_ = 0;
};

}  // namespace turbolm::server
