// UTF-8 repair, invalid and huge inputs.
#include "tokenizer/unicode.h"

#include <gtest/gtest.h>

#include "test_util.h"
#include "tokenizer/tokenizer.h"

namespace turbolm {
namespace {

const std::string kFffd = "\xEF\xBF\xBD";

TEST(Utf8, ReplacesMaximalSubpartsLikePython) {
  // Expected values from Python: bytes.decode("utf-8", errors="replace").
  EXPECT_EQ(unicode::to_valid_utf8("a\xFF"
                                   "b"),
            "a" + kFffd + "b");
  EXPECT_EQ(unicode::to_valid_utf8("\xE4\xB8"), kFffd);  // truncated 3-byte sequence
  EXPECT_EQ(unicode::to_valid_utf8("\xE4\xB8x"), kFffd + "x");
  EXPECT_EQ(unicode::to_valid_utf8("\xED\xA0\x80"), kFffd + kFffd + kFffd);  // surrogate
  EXPECT_EQ(unicode::to_valid_utf8("\xC0\xAF"), kFffd + kFffd);              // overlong
  EXPECT_EQ(unicode::to_valid_utf8("\xF4\x90\x80\x80"), kFffd + kFffd + kFffd + kFffd);
  EXPECT_EQ(unicode::to_valid_utf8("\xF0\x9F\x98"), kFffd);
  EXPECT_EQ(unicode::to_valid_utf8("中文"), "中文");
}

TEST(Utf8, CompletePrefixStopsBeforeIncompleteSequence) {
  EXPECT_EQ(unicode::complete_prefix_length("ab\xE4\xB8"), 2u);
  EXPECT_EQ(unicode::complete_prefix_length("ab\xE4\xB8\xAD"), 5u);
  EXPECT_EQ(unicode::complete_prefix_length("ab\xFF"), 3u);
}

TEST(Encode, InvalidUtf8EncodesAsReplacementCharacter) {
  for (const char* dir : {"tokenizers/qwen3", "tokenizers/mistral", "tokenizers/llama2", "tokenizers/gpt2"}) {
    auto tok = Tokenizer::from_dir(test::shared_dir() / dir);
    EXPECT_EQ(tok->encode("ok\xFF\xFEok"), tok->encode("ok" + kFffd + kFffd + "ok")) << dir;
    EXPECT_EQ(tok->encode("\xE4\xB8"), tok->encode(kFffd)) << dir;
  }
}

TEST(Encode, TenMegabytesOfText) {
  auto tok = Tokenizer::from_dir(test::shared_dir() / "tokenizers/qwen3");
  const std::string chunk = test::read_file(test::shared_dir() / "text/wikitext-2-raw_wiki.test.raw");
  std::string big;
  while (big.size() < 10u << 20) big += chunk;
  const auto ids = tok->encode(big);
  const auto one = tok->encode(chunk);
  // The file ends with a newline, so copies tokenize independently except where newlines join across the seam.
  EXPECT_GT(ids.size(), one.size() * (big.size() / chunk.size()) * 99 / 100);
  EXPECT_EQ(tok->decode(ids), big);
  // One huge word without any split point.
  const auto word = tok->encode(std::string(1 << 20, 'x'));
  EXPECT_EQ(tok->decode(word), std::string(1 << 20, 'x'));
}

}  // namespace
}  // namespace turbolm
