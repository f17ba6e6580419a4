// Shared helpers for the chat tests: fixture paths and the pinned strftime_now clock.
#pragma once

#include <ctime>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "chat/jinja/interpreter.h"

namespace turbolm::testing {

inline std::filesystem::path chat_data_dir() { return std::filesystem::path(TURBOLM_SOURCE_DIR) / "tests/data/chat"; }
inline std::filesystem::path shared_dir() { return std::filesystem::path(TURBOLM_SHARED_DIR); }

inline std::string read_text(const std::filesystem::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::ostringstream s;
  s << f.rdbuf();
  return s.str();
}

inline nlohmann::ordered_json read_json(const std::filesystem::path& p) {
  return nlohmann::ordered_json::parse(read_text(p));
}

// The time tools/chat_make_fixtures.py pins for strftime_now: 2025-03-14 09:26:53 (a Friday).
inline jinja::RenderOptions fixed_clock_options() {
  std::tm tm{};
  tm.tm_year = 2025 - 1900;
  tm.tm_mon = 2;
  tm.tm_mday = 14;
  tm.tm_hour = 9;
  tm.tm_min = 26;
  tm.tm_sec = 53;
  tm.tm_wday = 5;
  tm.tm_yday = 72;
  jinja::RenderOptions options;
  options.fixed_time = tm;
  return options;
}

}  // namespace turbolm::testing
