// An option followed by another flag is refused (CLI11 took the flag as the value: `generate --prompt --json`
// generated from the text "--json"); values that merely start with '-' and `--opt=--text` still pass.
#include "cli/flag_values.h"

#include <gtest/gtest.h>

namespace turbolm::cli {
namespace {

std::string check(const std::vector<std::string>& words) {
  CLI::App app{"test", "turbolm"};
  std::string log_level, prompt;
  int count = 0;
  bool json = false;
  app.add_option("--log-level", log_level);
  CLI::App* generate = app.add_subcommand("generate");
  generate->add_option("--prompt", prompt);
  generate->add_option("--count", count);
  generate->add_flag("--json", json);
  std::vector<std::string> args = {"turbolm"};
  args.insert(args.end(), words.begin(), words.end());
  return flag_given_as_value(app, args);
}

TEST(FlagValues, AFlagAfterAnOptionIsRefused) {
  const std::string error = check({"generate", "--prompt", "--json"});
  EXPECT_NE(error.find("--prompt needs a value, but the next argument is the flag --json"), std::string::npos) << error;
  EXPECT_NE(check({"generate", "--count", "--prompt=x"}), "");
  EXPECT_NE(check({"generate", "--prompt", "--log-level"}), "");  // the enclosing command's flag
  EXPECT_NE(check({"--log-level", "--help", "generate"}).find("--log-level needs a value"), std::string::npos);
}

TEST(FlagValues, OrdinaryValuesPass) {
  for (const auto& words : std::vector<std::vector<std::string>>{
           {"generate", "--prompt", "hello", "--json"},
           {"generate", "--json", "--prompt", "x"},
           {"generate", "--count", "-5"},              // a negative number
           {"generate", "--prompt", "-- not a flag"},  // text starting with dashes
           {"generate", "--prompt", "--unknown"},      // no such flag: the text
           {"generate", "--prompt=--json"},            // explicit
           {"generate", "--", "--prompt", "--json"},   // after a bare --
           {"--log-level", "info", "generate", "--prompt", "x"},
           {"generate", "--prompt"},  // CLI11 reports the missing value
       }) {
    EXPECT_EQ(check(words), "") << words[1];
  }
}

}  // namespace
}  // namespace turbolm::cli
