#include "cli/stdin_input.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <iterator>

#include "core/error.h"

namespace turbolm::cli {

void check_stdin_read() {
  // std::cin shares stdin's C stream (sync_with_stdio), which records the failed read.
  if (std::ferror(stdin)) TLM_FAIL(kInvalidArgument) << "cannot read stdin: " << std::strerror(errno);
}

std::string read_all_stdin() {
  std::string input{std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>()};
  check_stdin_read();
  return input;
}

}  // namespace turbolm::cli
