// Reading stdin for the commands that take their input there (tokenize, chat).
#pragma once

#include <string>

namespace turbolm::cli {

// All of stdin. The C++ streams read a closed descriptor (`<&-`) or a folder (`< DIR`) as empty input; this throws
// turbolm::Error (kInvalidArgument, "cannot read stdin: ...") instead, so no output is made up for input never read.
std::string read_all_stdin();

// Throws as read_all_stdin() does when the last read of stdin failed (as opposed to reaching its end).
void check_stdin_read();

}  // namespace turbolm::cli
