#include "server/router.h"

#include <array>

#include "server/handlers.h"

namespace turbolm::server {
namespace {

constexpr std::array kRoutes{
    Route{"GET", "/v1/models", handle_models},
    Route{"GET", "/v1/models/{model}", handle_model},
    Route{"POST", "/v1/chat/completions", handle_chat_completions},
    Route{"POST", "/v1/completions", handle_completions},
    Route{"POST", "/v1/encode", handle_encode},
    Route{"POST", "/get_ppl", handle_get_ppl},
    Route{"POST", "/generate", handle_generate},
    Route{"POST", "/abort_request", handle_abort},
    Route{"GET", "/health", handle_health},
    Route{"GET", "/metrics", handle_metrics},
};

// Whether `route` serves `path`; `param` gets what a trailing "{name}" matched.
bool matches(const Route& route, std::string_view path, std::string_view& param) {
  if (!route.path.ends_with('}')) return route.path == path;
  const std::string_view prefix = route.path.substr(0, route.path.rfind('{'));
  if (path.size() <= prefix.size() || !path.starts_with(prefix)) return false;
  param = path.substr(prefix.size());
  return true;
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

RouteMatch find_route(std::string_view method, std::string_view path) {
  RouteMatch match;
  for (const Route& route : kRoutes) {
    std::string_view param;
    if (!matches(route, path, param)) continue;
    match.path_known = true;
    match.pattern = route.path;
    // HEAD is answered like GET (load balancers probe /health with it).
    if (route.method == method || (method == "HEAD" && route.method == "GET")) {
      match.route = &route;
      match.param = param;
    }
  }
  return match;
}

std::string allowed_methods(std::string_view path) {
  std::string allow;
  for (const Route& route : kRoutes) {
    std::string_view param;
    if (!matches(route, path, param)) continue;
    if (!allow.empty()) allow += ", ";
    allow += route.method;
    if (route.method == "GET") allow += ", HEAD";
  }
  return allow;
}

std::string percent_decode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    const int high = text[i] == '%' && i + 2 < text.size() ? hex_digit(text[i + 1]) : -1;
    const int low = high >= 0 ? hex_digit(text[i + 2]) : -1;
    if (low < 0) {
      out += text[i];
      continue;
    }
    out += static_cast<char>(high * 16 + low);
    i += 2;
  }
  return out;
}

std::string_view target_path(std::string_view target) {
  std::string_view path = target.substr(0, target.find('?'));
  if (path.starts_with('/')) return path;
  const size_t scheme_end = path.find("://");
  if (scheme_end == std::string_view::npos) return path;  // neither form: no route matches it (404)
  const size_t slash = path.find('/', scheme_end + 3);
  return slash == std::string_view::npos ? "/" : path.substr(slash);  // an empty path is "/"
}

}  // namespace turbolm::server
