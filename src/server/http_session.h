// One client connection: reads HTTP/1.1 requests (keep-alive), applies body limits, CORS and auth, routes
// to the handlers and writes whole or streamed responses.
#pragma once

// clang-format off
#include <utility>  // first: boost/asio/awaitable.hpp (1.74) uses std::exchange without including it
// clang-format on

#include <atomic>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "server/auth.h"
#include "server/server_context.h"
#include "server/session_tracker.h"

namespace turbolm::server {

struct SessionEnv {
  ServerContext& ctx;
  const ApiKeyAuth& auth;
  SessionTracker& tracker;
  const std::atomic<bool>& stopping;  // graceful shutdown began: finish the current response, then close
};

// The socket's executor must be a strand: handlers and engine-output wake-ups are serialized on it.
boost::asio::awaitable<void> run_http_session(SessionEnv& env, boost::asio::ip::tcp::socket socket);

}  // namespace turbolm::server
