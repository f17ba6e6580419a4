// How a command line CLI11 refused is reported.
#pragma once

#include <CLI/CLI.hpp>
#include <iosfwd>

namespace turbolm::cli {

// The exit status of every usage error: CLI11's own refusals and the commands' argument checks alike.
inline constexpr int kUsageErrorExit = 2;

// CLI11 ends with a status per error kind (104 conversion, 105 validation, 106 required, 109 unexpected argument)
// and a bare message, while the commands' own argument checks exit 2 with "turbolm: error: ...". This reports a
// parse error the second way (one line on `err`, naming the command whose --help explains it) and returns 2, so
// scripts see one status and one format whichever layer refused the input. --help and --version (status 0) still
// print to `out` as CLI11 does.
int report_parse_error(const CLI::App& app, const CLI::ParseError& error, std::ostream& out, std::ostream& err);

}  // namespace turbolm::cli
