// What every endpoint handler shares: the engine, the settings, metrics and the in-flight request registry.
#pragma once

#include <atomic>
#include <string>

#include "server/metrics.h"
#include "server/request_registry.h"
#include "server/server_config.h"
#include "turbolm/engine.h"

namespace turbolm::server {

struct ServerContext {
  ServerContext(Engine& e, const ServerConfig& c)
      : engine(e), config(c), model_name(c.model_name.empty() ? e.info().model_name : c.model_name) {}

  Engine& engine;
  const ServerConfig& config;
  const std::string model_name;
  Metrics metrics;
  RequestRegistry registry;
  std::atomic<int> generations_in_flight{0};
};

}  // namespace turbolm::server
