#include "cli/chat_input.h"

namespace turbolm::cli {

ChatLine classify_chat_line(std::string_view line) {
  constexpr std::string_view kSpace = " \t\r\n\f\v";
  const size_t first = line.find_first_not_of(kSpace);
  if (first == std::string_view::npos) return ChatLine::kBlank;
  const std::string_view word = line.substr(first, line.find_last_not_of(kSpace) + 1 - first);
  if (word == "/exit" || word == "exit") return ChatLine::kExit;
  if (word == "/reset" || word == "reset") return ChatLine::kReset;
  return ChatLine::kMessage;
}

}  // namespace turbolm::cli
