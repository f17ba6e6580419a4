// What a line typed (or piped) into `turbolm chat` asks for.
#pragma once

#include <string_view>

namespace turbolm::cli {

enum class ChatLine { kBlank, kExit, kReset, kMessage };

// /exit, exit, /reset and reset are matched with the surrounding whitespace ignored, so "/exit " or a
// Windows-style "/exit\r" quits instead of being sent to the model; a line of whitespace is skipped.
ChatLine classify_chat_line(std::string_view line);

}  // namespace turbolm::cli
