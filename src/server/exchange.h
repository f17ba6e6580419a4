// One HTTP request/response as the endpoint handlers see it: the body in, a whole or streamed response out.
// The Beast implementation lives in http_session.cc; handlers stay free of Beast's heavy headers.
#pragma once

// clang-format off
#include <utility>  // first: boost/asio/awaitable.hpp (1.74) uses std::exchange without including it
// clang-format on

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "server/api_error.h"

namespace turbolm::server {

namespace asio = boost::asio;

class Exchange {
 public:
  virtual ~Exchange() = default;
  virtual std::string_view body() const = 0;
  // What the route's trailing "{name}" matched, percent-decoded (the model id of /v1/models/{model}); else empty.
  virtual std::string_view route_param() const = 0;
  // The connection's strand: handlers and everything they post run serialized on it.
  virtual asio::any_io_executor executor() const = 0;

  virtual asio::awaitable<void> respond(int status, std::string body, std::string_view content_type) = 0;
  // A chunked streamed response; each call returns false once the client is gone (nothing more is sent).
  virtual asio::awaitable<bool> begin_stream(std::string_view content_type) = 0;
  virtual asio::awaitable<bool> write_stream(std::string data) = 0;
  virtual asio::awaitable<void> end_stream() = 0;
  // Reads the otherwise idle socket while the response is being produced and calls `on_gone` on the strand if
  // the client closes the connection, so a dead client never holds engine resources. At most once per exchange.
  virtual void watch_disconnect(std::function<void()> on_gone) = 0;
};

asio::awaitable<void> respond_json(Exchange& exchange, int status, const nlohmann::json& body);
asio::awaitable<void> respond_error(Exchange& exchange, const ApiError& error);

}  // namespace turbolm::server
