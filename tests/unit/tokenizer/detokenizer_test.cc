// IncrementalDetokenizer: deltas never split UTF-8 and concatenate to the one-shot decode.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <random>

#include "test_util.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/unicode.h"

namespace turbolm {
namespace {

void expect_stream_equals_decode(const Tokenizer& tok, const std::vector<int32_t>& ids, bool skip,
                                 const std::string& label) {
  IncrementalDetokenizer detok(tok, skip);
  std::string streamed;
  for (int32_t id : ids) {
    const std::string delta = detok.push(id);
    ASSERT_TRUE(unicode::is_valid_utf8(delta)) << label;
    ASSERT_EQ(unicode::complete_prefix_length(delta), delta.size()) << label;
    streamed += delta;
  }
  streamed += detok.finish();
  EXPECT_EQ(streamed, tok.decode(ids, skip)) << label;
}

class DetokenizerTest : public ::testing::TestWithParam<std::string> {};

TEST_P(DetokenizerTest, FixtureIdsStreamLikeOneShotDecode) {
  const auto fixture = nlohmann::json::parse(test::read_file(test::fixture_dir() / (GetParam() + ".json")));
  auto tok = Tokenizer::from_dir(test::shared_dir() / fixture["folder"].get<std::string>());
  for (const auto& c : fixture["cases"]) {
    const auto ids = c["ids_special"].get<std::vector<int32_t>>();
    for (bool skip : {false, true}) expect_stream_equals_decode(*tok, ids, skip, c.dump().substr(0, 80));
  }
}

TEST_P(DetokenizerTest, RandomIdsStreamLikeOneShotDecode) {
  const auto fixture = nlohmann::json::parse(test::read_file(test::fixture_dir() / (GetParam() + ".json")));
  auto tok = Tokenizer::from_dir(test::shared_dir() / fixture["folder"].get<std::string>());
  std::mt19937 rng(1234);
  std::uniform_int_distribution<int32_t> any(0, tok->vocab_size() - 1);
  std::uniform_int_distribution<int32_t> low(0, 300);  // byte tokens and specials live here in most vocabs
  for (int round = 0; round < 200; ++round) {
    std::vector<int32_t> ids;
    for (int i = 0; i < 40; ++i) ids.push_back(rng() % 3 == 0 ? low(rng) : any(rng));
    for (bool skip : {false, true}) expect_stream_equals_decode(*tok, ids, skip, "round " + std::to_string(round));
  }
}

INSTANTIATE_TEST_SUITE_P(Tokenizers, DetokenizerTest,
                         ::testing::Values("qwen3", "mistral", "stories260k", "gpt2", "llama2", "internlm2"));

TEST(Detokenizer, HoldsBackIncompleteCharacters) {
  auto tok = Tokenizer::from_dir(test::shared_dir() / "tokenizers/qwen3");
  // "中" (E4 B8 AD) as three single-byte tokens of the byte-level alphabet, then "!".
  const auto& byte_chars = unicode::byte_to_unicode_utf8();
  std::vector<int32_t> ids;
  for (unsigned char b : std::string("中!")) ids.push_back(tok->token_to_id(byte_chars[b]).value());
  IncrementalDetokenizer detok(*tok);
  EXPECT_EQ(detok.push(ids[0]), "");
  EXPECT_EQ(detok.push(ids[1]), "");
  EXPECT_EQ(detok.push(ids[2]), "中");
  EXPECT_EQ(detok.push(ids[3]), "!");
  EXPECT_EQ(detok.finish(), "");
}

TEST(Detokenizer, ByteFallbackRunsAndLeadingSpace) {
  auto tok = Tokenizer::from_dir(test::shared_dir() / "tokenizers/mistral");
  IncrementalDetokenizer detok(*tok);
  const auto ids = tok->encode("Hi 😀 there", true);
  std::string streamed;
  for (int32_t id : ids) streamed += detok.push(id);
  EXPECT_EQ(streamed + detok.finish(), "Hi 😀 there");
}

}  // namespace
}  // namespace turbolm
