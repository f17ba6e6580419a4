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

// With the prompt as context, the first ids read as a continuation: SentencePiece's "▁upon" after "Once" keeps
// its space (vLLM's and LMDeploy's streamed text), where a decode of the ids alone drops it.
TEST(Detokenizer, PromptContextKeepsTheLeadingSpace) {
  auto tok = Tokenizer::from_dir(test::shared_dir() / "tokenizers/llama2");
  const std::vector<int32_t> prompt = tok->encode("Once", true);
  const std::vector<int32_t> all = tok->encode("Once upon a time", true);
  ASSERT_EQ(std::vector<int32_t>(all.begin(), all.begin() + prompt.size()), prompt);
  const std::vector<int32_t> output(all.begin() + prompt.size(), all.end());
  ASSERT_EQ(tok->decode(output, true), "upon a time");
  IncrementalDetokenizer detok(*tok, true, true, prompt);
  std::string streamed;
  for (int32_t id : output) streamed += detok.push(id);
  EXPECT_EQ(streamed + detok.finish(), " upon a time");
}

// Streams ids[split:] with ids[:split] as the prompt: the deltas concatenate to decode(tail + output) minus
// decode(tail) for the prompt's last 6 ids, or to decode(output) when the tail ends inside a byte run or a UTF-8
// sequence (the detokenizer then starts without it).
void expect_context_stream(const Tokenizer& tok, const std::vector<int32_t>& ids, size_t split, bool skip,
                           const std::string& label) {
  const std::vector<int32_t> tail(ids.begin() + std::max<std::ptrdiff_t>(0, split - 6), ids.begin() + split);
  const std::vector<int32_t> output(ids.begin() + split, ids.end());
  IncrementalDetokenizer detok(tok, skip, true, std::span<const int32_t>(ids.data(), split));
  std::string streamed;
  for (int32_t id : output) streamed += detok.push(id);
  streamed += detok.finish();
  const std::string head = tok.decode(tail, skip);
  std::vector<int32_t> joined = tail;
  joined.insert(joined.end(), output.begin(), output.end());
  const std::string full = tok.decode(joined, skip);
  const bool clean = !tok.is_byte_fallback(tail.back()) &&
                     !(head.size() >= 3 && head.compare(head.size() - 3, 3, "\xEF\xBF\xBD") == 0);
  ASSERT_TRUE(!clean || full.compare(0, head.size(), head) == 0) << label << ": the tail's text is a prefix";
  EXPECT_EQ(streamed, clean ? full.substr(head.size()) : tok.decode(output, skip))
      << label << " split " << split << " skip " << skip;
}

// Twelve splits of each fixture case's ids into (prompt, output), spread over the case, and the first ones.
TEST_P(DetokenizerTest, PromptContextStreamsTheContinuation) {
  const auto fixture = nlohmann::json::parse(test::read_file(test::fixture_dir() / (GetParam() + ".json")));
  auto tok = Tokenizer::from_dir(test::shared_dir() / fixture["folder"].get<std::string>());
  for (const auto& c : fixture["cases"]) {
    const auto ids = c["ids_special"].get<std::vector<int32_t>>();
    const size_t step = std::max<size_t>(1, ids.size() / 12);
    for (size_t split = 1; split < ids.size(); split += split < 4 ? 1 : step)
      for (bool skip : {false, true}) expect_context_stream(*tok, ids, split, skip, c.dump().substr(0, 80));
  }
}

// Random ids (byte tokens and specials often) split at random points: never a divergence, same rule.
TEST_P(DetokenizerTest, PromptContextWithRandomIds) {
  const auto fixture = nlohmann::json::parse(test::read_file(test::fixture_dir() / (GetParam() + ".json")));
  auto tok = Tokenizer::from_dir(test::shared_dir() / fixture["folder"].get<std::string>());
  std::mt19937 rng(99);
  std::uniform_int_distribution<int32_t> any(0, tok->vocab_size() - 1);
  std::uniform_int_distribution<int32_t> low(0, 300);
  for (int round = 0; round < 100; ++round) {
    std::vector<int32_t> ids;
    for (int i = 0; i < 30; ++i) ids.push_back(rng() % 3 == 0 ? low(rng) : any(rng));
    const size_t split = 1 + rng() % 20;
    for (bool skip : {false, true}) expect_context_stream(*tok, ids, split, skip, "round " + std::to_string(round));
  }
}

}  // namespace
}  // namespace turbolm
