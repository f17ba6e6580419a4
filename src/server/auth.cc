#include "server/auth.h"

#include <algorithm>
#include <cctype>

namespace turbolm::server {

bool constant_time_equal(std::string_view a, std::string_view b) {
  // Walk the longer string entirely; out-of-range positions compare against 0 and the length difference is
  // folded into the result, so there is no early exit on the first mismatch.
  size_t n = std::max(a.size(), b.size());
  unsigned diff = static_cast<unsigned>(a.size() ^ b.size());
  for (size_t i = 0; i < n; ++i) {
    unsigned char x = i < a.size() ? static_cast<unsigned char>(a[i]) : 0;
    unsigned char y = i < b.size() ? static_cast<unsigned char>(b[i]) : 0;
    diff |= static_cast<unsigned>(x ^ y);
  }
  return diff == 0;
}

bool ApiKeyAuth::allows(std::string_view header) const {
  if (keys_.empty()) return true;
  constexpr std::string_view kScheme = "bearer ";
  if (header.size() < kScheme.size()) return false;
  for (size_t i = 0; i < kScheme.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(header[i])) != kScheme[i]) return false;
  }
  std::string_view token = header.substr(kScheme.size());
  while (!token.empty() && token.front() == ' ') token.remove_prefix(1);
  while (!token.empty() && token.back() == ' ') token.remove_suffix(1);
  bool match = false;
  for (const std::string& key : keys_) match |= constant_time_equal(token, key);  // no short-circuit across keys
  return match;
}

bool path_needs_auth(std::string_view path) { return path != "/health"; }

}  // namespace turbolm::server
