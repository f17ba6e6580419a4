// Leveled, fmt-style logging to stderr with file:line. Level from TURBOLM_LOG_LEVEL
// (trace|debug|info|warning|error|off, default info) or set_log_level().
#pragma once

#include <fmt/format.h>

#include <string_view>

namespace turbolm {

enum class LogLevel { kTrace = 0, kDebug, kInfo, kWarning, kError, kOff };

LogLevel log_level();
void set_log_level(LogLevel level);
// Parses "trace", "debug", "info", "warning"/"warn", "error", "off" (case-insensitive); throws InvalidArgument.
LogLevel parse_log_level(std::string_view name);

namespace detail {
void write_log(LogLevel level, const char* file, int line, std::string_view message);
}

}  // namespace turbolm

#define TLM_LOG_(level, ...)                                                               \
  do {                                                                                     \
    if (::turbolm::log_level() <= (level))                                                 \
      ::turbolm::detail::write_log((level), __FILE__, __LINE__, fmt::format(__VA_ARGS__)); \
  } while (0)

#define TLM_LOG_TRACE(...) TLM_LOG_(::turbolm::LogLevel::kTrace, __VA_ARGS__)
#define TLM_LOG_DEBUG(...) TLM_LOG_(::turbolm::LogLevel::kDebug, __VA_ARGS__)
#define TLM_LOG_INFO(...) TLM_LOG_(::turbolm::LogLevel::kInfo, __VA_ARGS__)
#define TLM_LOG_WARNING(...) TLM_LOG_(::turbolm::LogLevel::kWarning, __VA_ARGS__)
#define TLM_LOG_ERROR(...) TLM_LOG_(::turbolm::LogLevel::kError, __VA_ARGS__)
