// Parse errors CLI11 raises exit 2 with one "turbolm: error:" line naming the command, like the commands' own
// argument checks (they used to exit 104, 105, 106 or 109 with CLI11's bare message); --help still exits 0.
#include "cli/usage_error.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <sstream>

namespace turbolm::cli {
namespace {

struct Outcome {
  int status = -1;
  std::string out, err;
};

// Parses `args` (after the program name) into a root "turbolm" with a "bench throughput" command.
Outcome run(std::vector<std::string> args) {
  CLI::App app{"test", "turbolm"};
  app.require_subcommand(1);
  CLI::App* bench = app.add_subcommand("bench", "benchmarks");
  bench->require_subcommand(1);
  CLI::App* throughput = bench->add_subcommand("throughput", "offline throughput");
  int num_prompts = 0;
  std::string model;
  throughput->add_option("--model", model, "model folder")->required();
  throughput->add_option("--num-prompts", num_prompts, "requests")->check(CLI::PositiveNumber);
  std::reverse(args.begin(), args.end());  // CLI11 takes the arguments in reverse
  Outcome outcome;
  try {
    app.parse(args);
    outcome.status = 0;
  } catch (const CLI::ParseError& e) {
    std::ostringstream out, err;
    outcome.status = report_parse_error(app, e, out, err);
    outcome.out = out.str();
    outcome.err = err.str();
  }
  return outcome;
}

TEST(UsageError, EveryParseErrorExitsTwoWithOneLineNamingTheCommand) {
  const std::vector<std::vector<std::string>> bad = {
      {"bench", "throughput", "--model", "m", "--num-prompts", "12abc"},  // conversion (was 104)
      {"bench", "throughput", "--model", "m", "--num-prompts", "0"},      // validation (was 105)
      {"bench", "throughput"},                                            // required (was 106)
      {"bench", "throughput", "--model", "m", "--bogus"},                 // unexpected argument (was 109)
  };
  for (const auto& args : bad) {
    const Outcome o = run(args);
    EXPECT_EQ(o.status, kUsageErrorExit) << args.back();
    EXPECT_TRUE(o.err.starts_with("turbolm: error: ")) << o.err;
    EXPECT_NE(o.err.find("(see 'turbolm bench throughput --help')"), std::string::npos) << o.err;
    EXPECT_EQ(std::count(o.err.begin(), o.err.end(), '\n'), 1) << o.err;
    EXPECT_EQ(o.out, "") << args.back();
  }
  EXPECT_NE(run(bad[0]).err.find("12abc"), std::string::npos);
  EXPECT_NE(run(bad[2]).err.find("--model is required"), std::string::npos);
}

TEST(UsageError, AMissingSubcommandNamesTheGroup) {
  const Outcome o = run({"bench"});
  EXPECT_EQ(o.status, kUsageErrorExit);
  EXPECT_NE(o.err.find("(see 'turbolm bench --help')"), std::string::npos) << o.err;
}

TEST(UsageError, HelpStillPrintsToStdoutAndExitsZero) {
  const Outcome o = run({"bench", "throughput", "--help"});
  EXPECT_EQ(o.status, 0);
  EXPECT_NE(o.out.find("--num-prompts"), std::string::npos) << o.out;
  EXPECT_EQ(o.err, "");
}

}  // namespace
}  // namespace turbolm::cli
