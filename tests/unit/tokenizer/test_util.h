// Shared helpers for tokenizer tests: paths to ../shared and to the committed fixtures.
#pragma once

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace turbolm::test {

inline std::filesystem::path shared_dir() { return TURBOLM_SHARED_DIR; }
inline std::filesystem::path fixture_dir() {
  return std::filesystem::path(TURBOLM_SOURCE_DIR) / "tests/data/tokenizer";
}

inline std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace turbolm::test
