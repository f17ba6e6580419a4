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

}  // namespace turbolm::server
