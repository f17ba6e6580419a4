// chat's commands are recognised with surrounding whitespace and CRLF line ends ("/exit\r" from a Windows file
// and "/exit " used to be sent to the model as messages); anything else is a message.
#include "cli/chat_input.h"

#include <gtest/gtest.h>

namespace turbolm::cli {
namespace {

TEST(ChatInput, CommandsIgnoreSurroundingWhitespace) {
  for (const char* line : {"/exit", "exit", "/exit ", " exit", "/exit\r", "\t/exit \r"})
    EXPECT_EQ(classify_chat_line(line), ChatLine::kExit) << line;
  for (const char* line : {"/reset", "reset", "reset\r", "  /reset  "})
    EXPECT_EQ(classify_chat_line(line), ChatLine::kReset) << line;
}

TEST(ChatInput, BlankLinesAreSkipped) {
  for (const char* line : {"", " ", "\r", " \t \r"}) EXPECT_EQ(classify_chat_line(line), ChatLine::kBlank) << line;
}

TEST(ChatInput, EverythingElseIsAMessage) {
  for (const char* line : {"hello", "/exit now", "exit!", "/exits", "reset the story", "Exit"})
    EXPECT_EQ(classify_chat_line(line), ChatLine::kMessage) << line;
}

}  // namespace
}  // namespace turbolm::cli
