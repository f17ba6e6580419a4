#include "cli/argv_normalize.h"

namespace turbolm::cli {

std::vector<std::string> normalize_long_options(int argc, const char* const* argv) {
  std::vector<std::string> out;
  out.reserve(argc);
  bool passthrough = false;
  for (int i = 0; i < argc; ++i) {
    std::string arg = argv[i];
    if (i > 0 && !passthrough && arg == "--") passthrough = true;
    if (i > 0 && !passthrough && arg.size() > 2 && arg.starts_with("--")) {
      const size_t name_end = arg.find('=');
      for (size_t k = 2; k < std::min(name_end, arg.size()); ++k)
        if (arg[k] == '_') arg[k] = '-';
    }
    out.push_back(std::move(arg));
  }
  return out;
}

}  // namespace turbolm::cli
