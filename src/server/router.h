// Method + path -> handler. Unknown paths are 404, known paths with another method 405 (both OpenAI JSON).
#pragma once

#include <string_view>

#include "server/exchange.h"
#include "server/server_context.h"

namespace turbolm::server {

using Handler = asio::awaitable<void> (*)(ServerContext&, Exchange&);

struct Route {
  std::string_view method;
  std::string_view path;
  Handler handler;
};

struct RouteMatch {
  const Route* route = nullptr;  // null: no route for this method
  bool path_known = false;       // the path exists with some method (405 rather than 404)
};

// `path` excludes the query string.
RouteMatch find_route(std::string_view method, std::string_view path);

// The path of a request target, without its query. A server must accept the absolute form as well as the origin
// form (RFC 9112 3.2.2): "http://host:23333/v1/models?x" and "/v1/models?x" both give "/v1/models".
std::string_view target_path(std::string_view target);

}  // namespace turbolm::server
