#include "cli/usage_error.h"

#include <ostream>
#include <string>

namespace turbolm::cli {

namespace {

// "turbolm bench throughput": the root and the subcommands the parse selected before it failed.
std::string selected_command(const CLI::App& app) {
  std::string path = app.get_name();
  for (const CLI::App* command = &app; !command->get_subcommands().empty();) {
    command = command->get_subcommands().front();
    path += " " + command->get_name();
  }
  return path;
}

}  // namespace

int report_parse_error(const CLI::App& app, const CLI::ParseError& error, std::ostream& out, std::ostream& err) {
  if (error.get_exit_code() == static_cast<int>(CLI::ExitCodes::Success)) return app.exit(error, out, err);
  err << "turbolm: error: " << error.what() << " (see '" << selected_command(app) << " --help')\n";
  return kUsageErrorExit;
}

}  // namespace turbolm::cli
