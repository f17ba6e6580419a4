// Integer flags read "010" as 10 (CLI11 alone read it as octal 8 and refused "08"), in subcommands too; other
// flags and their help are untouched.
#include "cli/decimal_integers.h"

#include <gtest/gtest.h>

#include "cli/validators.h"

namespace turbolm::cli {
namespace {

struct Flags {
  int count = -1;
  uint16_t port = 0;
  double rate = 0;
  std::string name;
};

Flags parse(const std::string& args) {
  CLI::App app;
  CLI::App* sub = app.add_subcommand("run");
  Flags f;
  sub->add_option("--count", f.count)->check(non_negative());
  sub->add_option("--port", f.port);
  sub->add_option("--rate", f.rate);
  sub->add_option("--name", f.name);
  read_integers_as_decimal(app);
  app.parse(args);
  return f;
}

TEST(DecimalIntegers, LeadingZerosAreDecimal) {
  EXPECT_EQ(parse("run --count 010").count, 10);
  EXPECT_EQ(parse("run --count 08").count, 8);
  EXPECT_EQ(parse("run --count 0").count, 0);
  EXPECT_EQ(parse("run --count 000").count, 0);
  EXPECT_EQ(parse("run --count 64").count, 64);
  EXPECT_EQ(parse("run --port 08080").port, 8080);
}

TEST(DecimalIntegers, ChecksStillApply) {
  EXPECT_THROW(parse("run --count -007"), CLI::ValidationError);
  EXPECT_THROW(parse("run --count 012abc"), CLI::ValidationError);
  EXPECT_THROW(parse("run --port 012abc"), CLI::ConversionError);
  EXPECT_THROW(parse("run --port 070000"), CLI::ConversionError);  // past uint16_t
}

TEST(DecimalIntegers, OtherOptionsAreUntouched) {
  EXPECT_EQ(parse("run --name 007").name, "007");
  EXPECT_DOUBLE_EQ(parse("run --rate 0.05").rate, 0.05);
}

TEST(DecimalIntegers, HelpIsUnchanged) {
  CLI::App app;
  int count = 0;
  app.add_option("--count", count, "how many")->check(non_negative());
  const std::string before = app.help();
  read_integers_as_decimal(app);
  EXPECT_EQ(app.help(), before);
}

}  // namespace
}  // namespace turbolm::cli
