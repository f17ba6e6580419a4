#include "core/logging.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>

#include "core/error.h"

namespace turbolm {
namespace {

LogLevel initial_level() {
  const char* env = std::getenv("TURBOLM_LOG_LEVEL");
  if (env == nullptr || *env == '\0') return LogLevel::kInfo;
  try {
    return parse_log_level(env);
  } catch (const Error&) {
    std::fprintf(stderr, "turbolm: ignoring TURBOLM_LOG_LEVEL=%s (use trace|debug|info|warning|error|off)\n", env);
    return LogLevel::kInfo;
  }
}

std::atomic<LogLevel>& level_storage() {
  static std::atomic<LogLevel> level{initial_level()};
  return level;
}

const char* level_tag(LogLevel level) {
  switch (level) {
    case LogLevel::kTrace: return "T";
    case LogLevel::kDebug: return "D";
    case LogLevel::kInfo: return "I";
    case LogLevel::kWarning: return "W";
    case LogLevel::kError: return "E";
    case LogLevel::kOff: return "-";
  }
  return "?";
}

}  // namespace

LogLevel log_level() { return level_storage().load(std::memory_order_relaxed); }
void set_log_level(LogLevel level) { level_storage().store(level, std::memory_order_relaxed); }

LogLevel parse_log_level(std::string_view name) {
  std::string lower(name);
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  if (lower == "trace") return LogLevel::kTrace;
  if (lower == "debug") return LogLevel::kDebug;
  if (lower == "info") return LogLevel::kInfo;
  if (lower == "warning" || lower == "warn") return LogLevel::kWarning;
  if (lower == "error") return LogLevel::kError;
  if (lower == "off" || lower == "critical") return LogLevel::kOff;
  TLM_FAIL(kInvalidArgument) << "unknown log level '" << name << "' (use trace|debug|info|warning|error|off)";
}

namespace detail {

void write_log(LogLevel level, const char* file, int line, std::string_view message) {
  static std::mutex mutex;
  const char* base = file;
  for (const char* p = file; *p; ++p)
    if (*p == '/') base = p + 1;
  auto now = std::chrono::system_clock::now();
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
  std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  localtime_r(&secs, &tm);
  std::lock_guard<std::mutex> lock(mutex);
  std::fprintf(stderr, "%s %02d:%02d:%02d.%03d %s:%d] %.*s\n", level_tag(level), tm.tm_hour, tm.tm_min, tm.tm_sec,
               static_cast<int>(ms % 1000), base, line, static_cast<int>(message.size()), message.data());
}

}  // namespace detail
}  // namespace turbolm
