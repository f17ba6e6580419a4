// ReasoningExtractor and ChatOutputParser: generated text in, reasoning / content / tool calls out, whole or in
// pieces of any size.
#include "server/reasoning.h"

#include <gtest/gtest.h>

#include <random>

#include "core/error.h"
#include "server/chat_output_parser.h"

namespace turbolm::server {
namespace {

// The text fed in pieces of `step` bytes, the last one marked last: everything that came out.
ChatOutputParser::Piece parse(const ChatParsers& parsers, std::string_view text, size_t step) {
  ChatOutputParser parser(parsers);
  ChatOutputParser::Piece all;
  for (size_t i = 0; i < text.size(); i += step) {
    ChatOutputParser::Piece piece = parser.feed(text.substr(i, step), i + step >= text.size());
    all.reasoning += piece.reasoning;
    all.content += piece.content;
    for (auto& call : piece.calls) all.calls.push_back(std::move(call));
  }
  return all;
}

constexpr ChatParsers kOpened{ReasoningParser::kOpened, ToolCallParser::kNone};
constexpr ChatParsers kTagged{ReasoningParser::kTagged, ToolCallParser::kNone};

TEST(Reasoning, ThinkBlockThenAnswerInAnyPieces) {
  const std::string text = "<think>\nThe user greets me.\n</think>\n\nHello! <b>Hi</b>";
  for (const ChatParsers& parsers : {kOpened, kTagged}) {
    for (size_t step : {size_t{1}, size_t{2}, size_t{3}, size_t{7}, text.size()}) {
      const auto all = parse(parsers, text, step);
      EXPECT_EQ(all.reasoning, "\nThe user greets me.\n") << "step " << step;
      EXPECT_EQ(all.content, "Hello! <b>Hi</b>") << "step " << step;  // the blank lines after </think> dropped
    }
  }
}

TEST(Reasoning, APromptThatOpenedThinkingMakesTheStartReasoning) {
  // DeepSeek-R1 / QwQ: the template ends the prompt with <think>, the reply starts inside it.
  const std::string text = "Let me think.</think>The answer is 4.";
  for (size_t step : {size_t{1}, size_t{4}, text.size()}) {
    const auto opened = parse(kOpened, text, step);
    EXPECT_EQ(opened.reasoning, "Let me think.");
    EXPECT_EQ(opened.content, "The answer is 4.");
    const auto tagged = parse(kTagged, text, step);  // Qwen3: no <think> of its own, so no reasoning
    EXPECT_EQ(tagged.reasoning, "");
    EXPECT_EQ(tagged.content, text);
  }
}

TEST(Reasoning, UnclosedReasoningStaysReasoning) {
  const auto all = parse(kTagged, "<think>still going </thi", 3);  // max_tokens reached mid-thought
  EXPECT_EQ(all.reasoning, "still going </thi");
  EXPECT_EQ(all.content, "");
  const auto opened = parse(kOpened, "  <th", 1);
  EXPECT_EQ(opened.reasoning, "  <th");
  EXPECT_EQ(parse(kTagged, "  <th", 1).content, "  <th");
}

TEST(Reasoning, TextThatOnlyLooksLikeATagIsNotHeldForever) {
  ReasoningExtractor extractor(ReasoningParser::kTagged);
  EXPECT_EQ(extractor.feed("<th").content, "");  // might be <think>
  EXPECT_EQ(extractor.feed("e answer").content, "<the answer");
  ReasoningExtractor reasoning(ReasoningParser::kOpened);
  EXPECT_EQ(reasoning.feed("a </th").reasoning, "a ");
  EXPECT_EQ(reasoning.feed("ere").reasoning, "</there");
}

TEST(Reasoning, ToolCallsAreReadFromTheAnswerOnly) {
  const ChatParsers both{ReasoningParser::kTagged, ToolCallParser::kHermes};
  const std::string text =
      "<think>I could write <tool_call>{\"name\": \"no\"}</tool_call> here.</think>\n"
      "<tool_call>{\"name\": \"yes\", \"arguments\": {}}</tool_call>";
  for (size_t step : {size_t{1}, size_t{5}, text.size()}) {
    const auto all = parse(both, text, step);
    EXPECT_EQ(all.reasoning, "I could write <tool_call>{\"name\": \"no\"}</tool_call> here.");
    ASSERT_EQ(all.calls.size(), 1u);
    EXPECT_EQ(all.calls[0].name, "yes");
    EXPECT_EQ(all.content, "");
  }
}

// Calls that come out only when the text ends (a Llama 3 reply of JSON objects; InternLM's last call, whose end tag
// is a stop word) reach the choice too.
TEST(Reasoning, CallsFoundAtTheEndAreKept) {
  const std::string llama3 = "<think>Weather, then.</think>\n{\"name\": \"get_weather\", \"parameters\": {}}";
  const std::string internlm = "Let me see.<|action_start|><|plugin|>\n{\"name\": \"get_weather\", \"parameters\": {}}";
  for (size_t step : {size_t{1}, size_t{7}, internlm.size()}) {
    const auto a = parse({ReasoningParser::kTagged, ToolCallParser::kLlama3Json}, llama3, step);
    EXPECT_EQ(a.reasoning, "Weather, then.");
    EXPECT_EQ(a.content, "");
    ASSERT_EQ(a.calls.size(), 1u) << "step " << step;
    EXPECT_EQ(a.calls[0].name, "get_weather");
    const auto b = parse({ReasoningParser::kNone, ToolCallParser::kInternLM}, internlm, step);
    EXPECT_EQ(b.content, "Let me see.");
    ASSERT_EQ(b.calls.size(), 1u) << "step " << step;
    EXPECT_EQ(b.calls[0].name, "get_weather");
  }
}

TEST(Reasoning, WithoutParsersTheTextIsContent) {
  const auto all = parse(ChatParsers{}, "<think>x</think>y", 2);
  EXPECT_EQ(all.content, "<think>x</think>y");
  EXPECT_EQ(all.reasoning, "");
}

// Property: however the text is cut into pieces (six parser pairs), the parsers give what they give for the whole text.
// Texts are random mixes of tags, fragments of tags, JSON and blanks (fixed seed).
TEST(Reasoning, PiecesNeverChangeTheResult) {
  const std::vector<std::string> atoms = {"<think>",
                                          "</think>",
                                          "<tool_call>",
                                          "</tool_call>",
                                          "{\"name\": \"f\"}",
                                          "{\"name\": \"g\", \"parameters\": {\"a\": \"}\"}}",
                                          ";",
                                          "<thi",
                                          "</th",
                                          "<tool",
                                          "<|python_tag|>",
                                          "<|action_start|><|plugin|>",
                                          "<|action_end|>",
                                          "<|action_start|>",
                                          "<|plu",
                                          "x",
                                          " ",
                                          "\n",
                                          "{",
                                          "}",
                                          "\"",
                                          "é"};
  std::mt19937 rng(12345);
  const ChatParsers all_parsers[] = {
      {ReasoningParser::kOpened, ToolCallParser::kHermes},     {ReasoningParser::kTagged, ToolCallParser::kHermes},
      {ReasoningParser::kTagged, ToolCallParser::kLlama3Json}, {ReasoningParser::kNone, ToolCallParser::kLlama3Json},
      {ReasoningParser::kTagged, ToolCallParser::kInternLM},   {ReasoningParser::kOpened, ToolCallParser::kNone}};
  for (int round = 0; round < 400; ++round) {
    std::string text;
    for (int n = rng() % 12; n >= 0; --n) text += atoms[rng() % atoms.size()];
    for (const ChatParsers& parsers : all_parsers) {
      const auto whole = parse(parsers, text, text.size());
      const size_t step = 1 + rng() % 6;
      const auto cut = parse(parsers, text, step);
      EXPECT_EQ(cut.reasoning, whole.reasoning) << text << " step " << step;
      EXPECT_EQ(cut.content, whole.content) << text << " step " << step;
      ASSERT_EQ(cut.calls.size(), whole.calls.size()) << text << " step " << step;
      for (size_t i = 0; i < cut.calls.size(); ++i) {
        EXPECT_EQ(cut.calls[i].name, whole.calls[i].name);
        EXPECT_EQ(cut.calls[i].arguments, whole.calls[i].arguments);
      }
    }
  }
}

TEST(Reasoning, ParserNames) {
  EXPECT_EQ(reasoning_parser_from_name("deepseek-r1"), ReasoningParser::kOpened);
  EXPECT_EQ(reasoning_parser_from_name("qwen-qwq"), ReasoningParser::kOpened);
  EXPECT_EQ(reasoning_parser_from_name("qwen3"), ReasoningParser::kTagged);
  EXPECT_EQ(reasoning_parser_from_name("default"), ReasoningParser::kOpened);
  EXPECT_EQ(reasoning_parser_from_name("intern-s1"), ReasoningParser::kOpened);
  EXPECT_THROW(reasoning_parser_from_name("o1"), Error);
}

}  // namespace
}  // namespace turbolm::server
