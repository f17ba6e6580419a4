// Reasoning in generated text (`turbolm serve api_server --reasoning-parser NAME`, LMDeploy's and vLLM's flag): the
// model thinks between <think> and </think>; the server returns that as `reasoning_content` beside `content`.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace turbolm::server {

// kOpened: the chat template opens <think> in the prompt (DeepSeek-R1, QwQ), so the text starts as reasoning even
// without the tag. kTagged: reasoning only where the text opens <think> itself (Qwen3, whose enable_thinking=false
// prompt closes it instead: the text is then all content).
enum class ReasoningParser { kNone, kOpened, kTagged };

// default (LMDeploy 0.18's one parser), deepseek-r1, qwen-qwq, intern-s1 (its older names): kOpened; qwen3 (vLLM's,
// and older LMDeploy's): kTagged. Throws InvalidArgument naming the known names for any other.
ReasoningParser reasoning_parser_from_name(std::string_view name);
const std::vector<std::string>& reasoning_parser_names();

// The tags of a reasoning parser (<think> and </think>; none for kNone).
std::vector<std::string_view> reasoning_markers(ReasoningParser parser);

// Splits generated text, possibly arriving in pieces, into reasoning and content. Text that could still be a tag is
// held back; the whitespace between </think> and the answer is dropped (the answer starts at its first character).
// Reasoning never closed (max_tokens reached) stays reasoning.
class ReasoningExtractor {
 public:
  struct Piece {
    std::string reasoning;
    std::string content;
  };

  explicit ReasoningExtractor(ReasoningParser parser);
  Piece feed(std::string_view text);
  Piece finish();  // whatever is held back

 private:
  enum class State { kStart, kReasoning, kAfterReasoning, kContent };
  ReasoningParser parser_;
  State state_;
  std::string pending_;
};

}  // namespace turbolm::server
