// The tokenizer regex: tokenizer.json patterns are written for Oniguruma, whose \s is Unicode's White_Space; PCRE2
// 10.42 also counts U+180E as whitespace, so \s and \S are spelled out before compiling.
#include "tokenizer/regex.h"

#include <gtest/gtest.h>

namespace turbolm {
namespace {

std::vector<std::string> matches(const std::string& pattern, const std::string& text) {
  std::vector<std::pair<size_t, size_t>> ranges;
  Regex(pattern).find_all(text, ranges);
  std::vector<std::string> out;
  for (auto [b, e] : ranges) out.push_back(text.substr(b, e - b));
  return out;
}

TEST(TokenizerRegex, TranslatesWhitespaceEscapesInAndOutOfClasses) {
  const std::string ws(Regex::oniguruma_to_pcre2("\\s"));
  EXPECT_EQ(ws.front(), '[');
  EXPECT_EQ(ws.find("180E"), std::string::npos);
  EXPECT_EQ(Regex::oniguruma_to_pcre2("\\S"), "[^" + ws.substr(1));
  // Inside a class the list goes in without brackets; other escapes, \p{...} and a leading ] stay as written.
  EXPECT_EQ(Regex::oniguruma_to_pcre2("[^\\s\\p{L}]"), "[^" + ws.substr(1, ws.size() - 2) + "\\p{L}]");
  EXPECT_EQ(Regex::oniguruma_to_pcre2("[]a]\\d\\\\s"), "[]a]\\d\\\\s");
  EXPECT_EQ(Regex::oniguruma_to_pcre2("(?i:'s|'t)\\p{N}{1,3}"), "(?i:'s|'t)\\p{N}{1,3}");
}

TEST(TokenizerRegex, MongolianVowelSeparatorIsNotWhitespace) {
  const std::string mvs = "\xE1\xA0\x8E";  // U+180E
  EXPECT_EQ(matches("\\s+", " " + mvs + " "), (std::vector<std::string>{" ", " "}));
  EXPECT_EQ(matches("[^\\s\\p{L}\\p{N}]+", "a" + mvs + "b"), (std::vector<std::string>{mvs}));
  EXPECT_EQ(matches("\\s+(?!\\S)", "a \xE3\x80\x80 b"), (std::vector<std::string>{" \xE3\x80\x80"}));  // U+3000
}

}  // namespace
}  // namespace turbolm
