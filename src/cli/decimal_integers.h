// Integer flags are decimal. CLI11 (2.1) converts them with strtoll(text, base 0): "010" was 8 and "08" did not
// parse, so `--max-new-tokens 010` generated 8 tokens and `--seed 010` seeded 8. LMDeploy's flags (Python's int())
// read "010" as 10; so do ours.
#pragma once

#include <CLI/CLI.hpp>

namespace turbolm::cli {

// Gives every integer option of `app` and of its subcommands (their type name starts with INT or UINT) a
// transform that drops the leading zeros of a number ("010" -> "10", "-007" -> "-7") before CLI11 converts it.
// Call once all options are added.
void read_integers_as_decimal(CLI::App& app);

}  // namespace turbolm::cli
