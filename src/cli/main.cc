// turbolm: one binary, one subcommand per job (generate, chat, serve, chat-template, eval, tokenize, bench).
#include <CLI/CLI.hpp>
#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <exception>
#include <iostream>
#include <new>

#include "cli/argv_normalize.h"
#include "cli/commands.h"
#include "cli/decimal_integers.h"
#include "cli/flag_values.h"
#include "cli/usage_error.h"
#include "core/error.h"
#include "core/logging.h"

namespace turbolm::cli {
std::vector<CommandRegistration>& command_registry() {
  static std::vector<CommandRegistration> registry;
  return registry;
}
}  // namespace turbolm::cli

namespace {

// The first word that names no command of its group ("turbolm foo", "turbolm bench foo"), with the group's
// commands; "" when the command path is fine. CLI11 would only say "A subcommand is required".
std::string unknown_command(CLI::App& app, const std::vector<std::string>& args) {
  CLI::App* group = &app;
  std::string path = "turbolm";
  for (size_t i = 1; i < args.size(); ++i) {
    const std::string& word = args[i];
    if (word == "--log-level") {  // the one top-level option that takes a value
      ++i;
      continue;
    }
    if (word.starts_with("-")) continue;
    const auto commands = group->get_subcommands([](CLI::App*) { return true; });
    if (commands.empty()) return "";
    CLI::App* next = nullptr;
    std::string names;
    for (CLI::App* c : commands) {
      if (c->check_name(word)) next = c;
      names += (names.empty() ? "" : ", ") + c->get_name();
    }
    if (next == nullptr) return "unknown command '" + path + " " + word + "'; one of: " + names;
    group = next;
    path += " " + word;
  }
  return "";
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"turbolm: compress, run and serve large language models (LMDeploy-compatible commands)", "turbolm"};
  app.require_subcommand(1);
  app.fallthrough();  // the top-level options also after the command: `turbolm generate ... --log-level error`
  app.set_version_flag("--version", "turbolm 0.1.0");
  std::string log_level;
  app.add_option("--log-level", log_level, "trace|debug|info|warning|error|off (env TURBOLM_LOG_LEVEL)");
  app.parse_complete_callback([&] {
    if (!log_level.empty()) turbolm::set_log_level(turbolm::parse_log_level(log_level));
  });

  auto& registry = turbolm::cli::command_registry();
  std::sort(registry.begin(), registry.end(), [](const auto& a, const auto& b) { return a.order < b.order; });
  for (const auto& command : registry) command.add(app);
  turbolm::cli::read_integers_as_decimal(app);

  std::vector<std::string> args = turbolm::cli::normalize_long_options(argc, argv);
  if (const std::string unknown = unknown_command(app, args); !unknown.empty()) {
    std::fprintf(stderr, "turbolm: error: %s (see --help)\n", unknown.c_str());
    return turbolm::cli::kUsageErrorExit;
  }
  if (const std::string taken = turbolm::cli::flag_given_as_value(app, args); !taken.empty()) {
    std::fprintf(stderr, "turbolm: error: %s\n", taken.c_str());
    return turbolm::cli::kUsageErrorExit;
  }
  std::vector<const char*> cargs;
  for (const auto& a : args) cargs.push_back(a.c_str());
  try {
    app.parse(static_cast<int>(cargs.size()), cargs.data());
  } catch (const CLI::ParseError& e) {
    return turbolm::cli::report_parse_error(app, e, std::cout, std::cerr);
  } catch (const turbolm::Error& e) {
    std::fprintf(stderr, "turbolm: error: %s\n", e.what());
    return e.code() == turbolm::ErrorCode::kInvalidArgument ? turbolm::cli::kUsageErrorExit : 1;
  } catch (const std::bad_alloc&) {
    std::fprintf(stderr, "turbolm: error: out of memory\n");
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "turbolm: error: %s\n", e.what());
    return 1;
  }
  // Output that could not be written (a full disk, a closed pipe) is a failure, not a silent exit 0.
  std::cout.flush();
  if (std::fflush(stdout) != 0 || std::ferror(stdout) || !std::cout) {
    std::fprintf(stderr, "turbolm: error: writing the output failed: %s\n", std::strerror(errno));
    return 1;
  }
  return 0;
}
