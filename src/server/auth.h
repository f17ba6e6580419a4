// API-key check for `--api-keys`: "Authorization: Bearer <key>", compared in constant time so response timing
// reveals nothing about how much of a guess was right.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace turbolm::server {

class ApiKeyAuth {
 public:
  explicit ApiKeyAuth(std::vector<std::string> keys) : keys_(std::move(keys)) {}
  bool enabled() const { return !keys_.empty(); }
  // True when auth is off or the header carries one of the keys ("Bearer" is case-insensitive, as in RFC 6750).
  bool allows(std::string_view authorization_header) const;

 private:
  std::vector<std::string> keys_;
};

// Equal contents and lengths; the time taken depends only on the lengths.
bool constant_time_equal(std::string_view a, std::string_view b);

// GET /health stays open so load balancers can probe without a key.
bool path_needs_auth(std::string_view path);

}  // namespace turbolm::server
