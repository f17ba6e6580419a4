#include "server/cors.h"

#include <algorithm>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/rfc7230.hpp>

namespace turbolm::server {
namespace {

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : ", ") + item;
  return out;
}

bool contains(const std::vector<std::string>& items, std::string_view item) {
  return std::any_of(items.begin(), items.end(), [&](const std::string& s) {
    return s == "*" || boost::beast::iequals(s, boost::beast::string_view(item.data(), item.size()));
  });
}

bool origin_allowed(const ServerConfig& config, std::string_view origin) {
  const auto& allowed = config.allow_origins;
  return std::find(allowed.begin(), allowed.end(), "*") != allowed.end() ||
         std::find(allowed.begin(), allowed.end(), origin) != allowed.end();
}

}  // namespace

std::string preflight_refusal(const ServerConfig& config, std::string_view origin, std::string_view requested_method,
                              std::string_view requested_headers) {
  std::vector<std::string> failures;
  if (!origin_allowed(config, origin)) failures.emplace_back("origin");
  if (!contains(config.allow_methods, requested_method)) failures.emplace_back("method");
  static const std::vector<std::string> kSafelisted = {"Accept", "Accept-Language", "Content-Language", "Content-Type"};
  for (const auto& header :
       boost::beast::http::token_list{boost::beast::string_view(requested_headers.data(), requested_headers.size())}) {
    const std::string_view name(header.data(), header.size());
    if (!contains(config.allow_headers, name) && !contains(kSafelisted, name)) {
      failures.emplace_back("headers");
      break;
    }
  }
  return failures.empty() ? std::string() : "Disallowed CORS " + join(failures);
}

HeaderList cors_headers(const ServerConfig& config, std::string_view origin, bool preflight,
                        std::string_view requested_headers) {
  HeaderList headers;
  if (origin.empty() || config.allow_origins.empty()) return headers;
  const auto& allowed = config.allow_origins;
  const bool any = std::find(allowed.begin(), allowed.end(), "*") != allowed.end();
  if (!origin_allowed(config, origin)) return headers;
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
