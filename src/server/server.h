// The OpenAI-compatible HTTP server: one engine, an Asio io_context with a few threads, one coroutine per
// connection on its own strand. SIGINT/SIGTERM (or stop()) begin a graceful shutdown: stop accepting, close
// idle connections, let in-flight requests finish for `shutdown_grace_s`, abort the rest, return from run().
#pragma once

#include <cstdint>
#include <memory>

#include "server/server_config.h"
#include "turbolm/engine.h"

namespace turbolm::server {

class Server {
 public:
  Server(std::unique_ptr<Engine> engine, ServerConfig config);
  ~Server();  // destroys the engine first: its last callbacks post into the still-alive io_context

  // Binds and listens; returns the port (useful with config.port = 0). Throws turbolm::Error when it cannot bind.
  uint16_t listen();
  // Serves until stop() or a signal, then shuts down gracefully. Calls listen() when not done yet.
  void run();
  // Thread-safe; returns at once.
  void stop();

  Engine& engine();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace turbolm::server
