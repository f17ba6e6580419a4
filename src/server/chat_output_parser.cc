#include "server/chat_output_parser.h"

namespace turbolm::server {

ChatOutputParser::Piece ChatOutputParser::feed(std::string_view text, bool last) {
  ReasoningExtractor::Piece split = reasoning_.feed(text);
  if (last) {
    ReasoningExtractor::Piece rest = reasoning_.finish();
    split.reasoning += rest.reasoning;
    split.content += rest.content;
  }
  ToolCallExtractor::Piece content = tools_.feed(split.content);
  if (last) {  // a Llama 3 reply's calls, and InternLM's call cut by its stop word, come out only here
    ToolCallExtractor::Piece rest = tools_.finish();
    content.content += rest.content;
    for (ToolCall& call : rest.calls) content.calls.push_back(std::move(call));
  }
  return {std::move(split.reasoning), std::move(content.content), std::move(content.calls)};
}

}  // namespace turbolm::server
