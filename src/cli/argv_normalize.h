#pragma once

#include <string>
#include <vector>

namespace turbolm::cli {

// LMDeploy accepts both `--foo_bar` and `--foo-bar`; CLI11 matches exact names. Rewrites the flag part of every
// `--long_option[=value]` argument to use dashes. Values (after '=' or in the next argument) are untouched, and
// everything after a bare `--` is left alone.
std::vector<std::string> normalize_long_options(int argc, const char* const* argv);

}  // namespace turbolm::cli
