// An option's value must not be another flag. CLI11 gives an option its required value from the next argument,
// whatever that is: `turbolm generate --prompt --json` generated from the text "--json" (and printed no JSON),
// `--chat-template --chat` took "--chat" as the template name. argparse (LMDeploy) refuses such command lines.
#pragma once

#include <CLI/CLI.hpp>
#include <string>
#include <vector>

namespace turbolm::cli {

// The error for the first option in `args` (argv, program name first) whose value would be a flag of the command
// it belongs to (or of an enclosing one), or "" when there is none. `--opt=--text` still passes "--text" as the
// value; so does anything after a bare `--`.
std::string flag_given_as_value(CLI::App& app, const std::vector<std::string>& args);

}  // namespace turbolm::cli
