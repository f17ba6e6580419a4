// One chat choice's generated text as the client receives it: reasoning (--reasoning-parser), content and tool calls
// (--tool-call-parser), whether the text arrives in pieces (a stream) or whole.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "server/reasoning.h"
#include "server/tool_calls.h"

namespace turbolm::server {

struct ChatParsers {
  ReasoningParser reasoning = ReasoningParser::kNone;
  ToolCallParser tools = ToolCallParser::kNone;  // kNone where the request offered no tools
};

// The text goes through the reasoning parser first; what it leaves as content goes through the tool-call parser.
class ChatOutputParser {
 public:
  struct Piece {
    std::string reasoning;
    std::string content;
    std::vector<ToolCall> calls;
  };

  explicit ChatOutputParser(const ChatParsers& parsers) : reasoning_(parsers.reasoning), tools_(parsers.tools) {}
  // `last`: the choice's final text; nothing is held back after it.
  Piece feed(std::string_view text, bool last);
  int calls() const { return tools_.calls(); }

 private:
  ReasoningExtractor reasoning_;
  ToolCallExtractor tools_;
};

}  // namespace turbolm::server
