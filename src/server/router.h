// Method + path -> handler. Unknown paths are 404, known paths with another method 405 (both OpenAI JSON).
#pragma once

#include <string>
#include <string_view>

#include "server/exchange.h"
#include "server/server_context.h"

namespace turbolm::server {

using Handler = asio::awaitable<void> (*)(ServerContext&, Exchange&);

struct Route {
  std::string_view method;
  // A path ending in "{name}" matches any non-empty rest of the path, slashes included (served model names
  // such as "Qwen/Qwen3-8B" carry one).
  std::string_view path;
  Handler handler;
};

struct RouteMatch {
  const Route* route = nullptr;  // null: no route for this method
  bool path_known = false;       // the path exists with some method (405 rather than 404)
  std::string_view pattern;      // the matching route's path: one metrics label per route, not one per id
  std::string_view param;        // what a trailing "{name}" matched, still percent-encoded
};

// `path` excludes the query string.
RouteMatch find_route(std::string_view method, std::string_view path);

// The methods `path` supports, for the Allow header every 405 carries (RFC 9110 15.5.6): "GET, HEAD", "POST".
std::string allowed_methods(std::string_view path);

// %XX escapes decoded (a malformed escape stays as it is); '+' is not a space in a path.
std::string percent_decode(std::string_view text);

// The path of a request target, without its query. A server must accept the absolute form as well as the origin
// form (RFC 9112 3.2.2): "http://host:23333/v1/models?x" and "/v1/models?x" both give "/v1/models".
std::string_view target_path(std::string_view target);

}  // namespace turbolm::server
