// Each `turbolm` subcommand lives in its own file (src/cli/*_command.cc) and registers itself with
// TLM_REGISTER_COMMAND, so adding a command touches no shared file.
#pragma once

#include <CLI/CLI.hpp>

#include <functional>
#include <string>
#include <vector>

namespace turbolm::cli {

struct CommandRegistration {
  int order;                           // position in `turbolm --help` (lower first)
  std::function<void(CLI::App&)> add;  // adds the subcommand with its flags and callback
};

std::vector<CommandRegistration>& command_registry();

struct CommandRegistrar {
  CommandRegistrar(int order, std::function<void(CLI::App&)> add) {
    command_registry().push_back({order, std::move(add)});
  }
};

}  // namespace turbolm::cli

#define TLM_CLI_CONCAT_(a, b) a##b
#define TLM_CLI_CONCAT(a, b) TLM_CLI_CONCAT_(a, b)
#define TLM_REGISTER_COMMAND(order, fn) \
  static ::turbolm::cli::CommandRegistrar TLM_CLI_CONCAT(tlm_command_registrar_, __LINE__)(order, fn)
