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

// A command group such as `bench` (latency | throughput | serve) or `serve` (api_server): returns the existing
// group subcommand or creates it, so each mode can live in its own file.
inline CLI::App& command_group(CLI::App& app, const std::string& name, const std::string& description) {
  for (CLI::App* existing : app.get_subcommands([&](CLI::App* sub) { return sub->get_name() == name; }))
    return *existing;
  CLI::App* group = app.add_subcommand(name, description);
  group->require_subcommand(1);
  return *group;
}

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
