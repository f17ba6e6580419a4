#include "server/exchange.h"

#include "server/sse.h"

namespace turbolm::server {

asio::awaitable<void> respond_json(Exchange& exchange, int status, const nlohmann::json& body) {
  co_await exchange.respond(status, dump_json(body), "application/json");
}

asio::awaitable<void> respond_error(Exchange& exchange, const ApiError& error) {
  co_await respond_json(exchange, error.status(), error.body());
}

}  // namespace turbolm::server
