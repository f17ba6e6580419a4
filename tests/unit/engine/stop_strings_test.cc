#include "engine/stop_strings.h"

#include <gtest/gtest.h>

namespace turbolm {
namespace {

std::string feed(StopStringMatcher& m, const std::vector<std::string>& deltas, std::vector<std::string>* emitted) {
  std::string all;
  for (const std::string& d : deltas) {
    std::string out = m.push(d);
    if (emitted) emitted->push_back(out);
    all += out;
  }
  return all;
}

TEST(StopStrings, NoStopsPassesThrough) {
  StopStringMatcher m({}, false);
  EXPECT_EQ(m.push("abc"), "abc");
  EXPECT_FALSE(m.stopped());
}

TEST(StopStrings, MultiTokenStopNeverLeaks) {
  StopStringMatcher m({"END!"}, false);
  std::vector<std::string> emitted;
  std::string text = feed(m, {"he", "llo E", "N", "D", "!", " more"}, &emitted);
  EXPECT_TRUE(m.stopped());
  EXPECT_EQ(text, "hello ");
  EXPECT_EQ(emitted[1], "llo ");  // "E" held back
  EXPECT_EQ(emitted[2], "");
}

TEST(StopStrings, IncludeStopInOutput) {
  StopStringMatcher m({"END"}, true);
  EXPECT_EQ(feed(m, {"aE", "NDb"}, nullptr), "aEND");
}

TEST(StopStrings, FalseStartIsReleased) {
  StopStringMatcher m({"abc"}, false);
  EXPECT_EQ(m.push("xab"), "x");
  EXPECT_EQ(m.push("d"), "abd");
  EXPECT_EQ(m.push("ab"), "");
  EXPECT_EQ(m.flush(), "ab");
  EXPECT_FALSE(m.stopped());
}

TEST(StopStrings, EarliestOfSeveralStops) {
  StopStringMatcher m({"world", "lo w"}, false);
  EXPECT_EQ(feed(m, {"hello world"}, nullptr), "hel");
}

TEST(StopStrings, Utf8HoldBackKeepsCharactersWhole) {
  StopStringMatcher m({"\xC3\xA9t\xC3\xA9"}, false);  // "été"
  EXPECT_EQ(m.push("caf\xC3\xA9"), "caf");
  EXPECT_EQ(m.push("!"), "\xC3\xA9!");
}

}  // namespace
}  // namespace turbolm
