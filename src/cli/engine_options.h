// The engine flags every engine-backed command takes, with LMDeploy's names (generate, chat, serve api_server,
// eval ppl, bench throughput).
#pragma once

#include <CLI/CLI.hpp>

#include "turbolm/engine_config.h"

namespace turbolm::cli {

void add_engine_options(CLI::App& cmd, EngineConfig& config);

}  // namespace turbolm::cli
