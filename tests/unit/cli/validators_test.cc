// The number checks of CLI flags: accepted values, and refusals that name the flag and say what it needs (not
// CLI11's range of two 300-digit doubles).
#include "cli/validators.h"

#include <gtest/gtest.h>

namespace turbolm::cli {
namespace {

// Parses `value` into a flag checked by `check`; returns the parse error's text ("" = accepted).
std::string parse_error(const CLI::Validator& check, const std::string& value) {
  CLI::App app;
  std::string parsed;  // the validator sees the text as given
  app.add_option("--n", parsed)->check(check);
  try {
    app.parse(std::vector<std::string>{value, "--n"});  // CLI11 takes the arguments in reverse
    return "";
  } catch (const CLI::ParseError& e) {
    return e.what();
  }
}

TEST(CliValidators, NonNegativeAcceptsZeroAndUp) {
  for (const char* v : {"0", "1", "2.5", "1e3"}) EXPECT_EQ(parse_error(non_negative(), v), "") << v;
}

TEST(CliValidators, PositiveAcceptsAboveZero) {
  for (const char* v : {"1", "0.25", "64"}) EXPECT_EQ(parse_error(positive(), v), "") << v;
}

TEST(CliValidators, RefusalsNameTheFlagAndTheRule) {
  const std::string negative = parse_error(non_negative(), "-1");
  EXPECT_NE(negative.find("--n"), std::string::npos) << negative;
  EXPECT_NE(negative.find("must be >= 0, got -1"), std::string::npos) << negative;
  EXPECT_LT(negative.size(), 80u) << negative;
  const std::string zero = parse_error(positive(), "0");
  EXPECT_NE(zero.find("must be > 0, got 0"), std::string::npos) << zero;
  for (const char* v : {"two", "3x", "nan", ""}) {
    const std::string text = parse_error(non_negative(), v);
    EXPECT_NE(text.find("is not a number"), std::string::npos) << v << ": " << text;
  }
}

// Seeds: the whole uint64 range, nothing past it (CLI11 saturated 2^64 to 2^64 - 1), no signs or fractions.
TEST(CliValidators, Uint64TakesExactlyTheRange) {
  for (const char* v : {"0", "5", "18446744073709551615"}) EXPECT_EQ(parse_error(uint64_value(), v), "") << v;
  EXPECT_NE(parse_error(uint64_value(), "18446744073709551616").find("must be below 2^64"), std::string::npos);
  for (const char* v : {"-1", "1.5", "1e3", "x", "+3"})
    EXPECT_NE(parse_error(uint64_value(), v).find("must be an integer >= 0"), std::string::npos) << v;
}

TEST(CliValidators, NonEmptyRefusesAnEmptyValueSayingWhy) {
  EXPECT_EQ(parse_error(non_empty("every request would get 401"), "KEY"), "");
  EXPECT_NE(parse_error(non_empty("every request would get 401"), "")
                .find("must not be empty: every request would "
                      "get 401"),
            std::string::npos);
}

}  // namespace
}  // namespace turbolm::cli
