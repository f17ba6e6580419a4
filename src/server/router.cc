#include "server/router.h"

#include <array>

#include "server/handlers.h"

namespace turbolm::server {
namespace {

constexpr std::array kRoutes{
    Route{"GET", "/v1/models", handle_models},
    Route{"POST", "/v1/chat/completions", handle_chat_completions},
    Route{"POST", "/v1/completions", handle_completions},
    Route{"POST", "/v1/encode", handle_encode},
    Route{"POST", "/generate", handle_generate},
    Route{"POST", "/abort_request", handle_abort},
    Route{"GET", "/health", handle_health},
    Route{"GET", "/metrics", handle_metrics},
};

}  // namespace

RouteMatch find_route(std::string_view method, std::string_view path) {
  RouteMatch match;
  for (const Route& route : kRoutes) {
    if (route.path != path) continue;
    match.path_known = true;
    // HEAD is answered like GET (load balancers probe /health with it).
    if (route.method == method || (method == "HEAD" && route.method == "GET")) match.route = &route;
  }
  return match;
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
