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

}  // namespace turbolm::server
