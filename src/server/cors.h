// CORS response headers (LMDeploy's --allow-origins / --allow-credentials / --allow-methods / --allow-headers).
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "server/server_config.h"

namespace turbolm::server {

using HeaderList = std::vector<std::pair<std::string, std::string>>;

// Headers for a response to a request from `origin` (empty when CORS is off or the origin is not allowed).
// `preflight` adds the Allow-Methods/Allow-Headers answer to an OPTIONS request; with --allow-headers '*' the
// requested headers are echoed (SDKs send their own x-stainless-* headers).
HeaderList cors_headers(const ServerConfig& config, std::string_view origin, bool preflight,
                        std::string_view requested_headers = {});

// Why a preflight from `origin` for `requested_method` with `requested_headers` (comma-separated) is refused,
// as Starlette's CORSMiddleware words it ("Disallowed CORS origin, method"); empty when it is allowed. Methods and
// headers compare case-insensitively; the CORS-safelisted headers are always allowed.
std::string preflight_refusal(const ServerConfig& config, std::string_view origin, std::string_view requested_method,
                              std::string_view requested_headers);

}  // namespace turbolm::server
