#include "server/cors.h"

#include <algorithm>

namespace turbolm::server {
namespace {

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : ", ") + item;
  return out;
}

}  // namespace

HeaderList cors_headers(const ServerConfig& config, std::string_view origin, bool preflight,
                        std::string_view requested_headers) {
  HeaderList headers;
  if (origin.empty() || config.allow_origins.empty()) return headers;
  const auto& allowed = config.allow_origins;
  bool any = std::find(allowed.begin(), allowed.end(), "*") != allowed.end();
  if (!any && std::find(allowed.begin(), allowed.end(), origin) == allowed.end()) return headers;
  // With credentials a wildcard is not allowed by browsers, so echo the origin (as Starlette does).
  headers.emplace_back("Access-Control-Allow-Origin", any && !config.allow_credentials ? "*" : std::string(origin));
  if (!any || config.allow_credentials) headers.emplace_back("Vary", "Origin");
  if (config.allow_credentials) headers.emplace_back("Access-Control-Allow-Credentials", "true");
  if (preflight) {
    std::string methods = join(config.allow_methods);
    if (methods == "*") methods = "GET, POST, OPTIONS";
    headers.emplace_back("Access-Control-Allow-Methods", methods);
    std::string allow_headers = join(config.allow_headers);
    if (allow_headers == "*") {
      allow_headers = requested_headers.empty() ? "Authorization, Content-Type" : std::string(requested_headers);
    }
    headers.emplace_back("Access-Control-Allow-Headers", allow_headers);
    headers.emplace_back("Access-Control-Max-Age", "600");
  }
  return headers;
}

}  // namespace turbolm::server
