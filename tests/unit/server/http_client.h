// A blocking loopback HTTP/1.1 client for server tests (one connection per call).
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

namespace turbolm::server::testing {

struct HttpResponse {
  int status = 0;
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string header(const std::string& name) const;
  nlohmann::json json() const { return nlohmann::json::parse(body); }
};

using Headers = std::vector<std::pair<std::string, std::string>>;

HttpResponse http_request(uint16_t port, const std::string& method, const std::string& target,
                          const std::string& body = {}, const Headers& headers = {});

// The `data:` payloads of an SSE body, in order.
std::vector<std::string> sse_payloads(const std::string& body);

}  // namespace turbolm::server::testing
