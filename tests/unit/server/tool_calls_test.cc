// ToolCallExtractor: generated text in, content and tool calls out, whole or in pieces of any size.
#include "server/tool_calls.h"

#include <gtest/gtest.h>

#include "core/error.h"

namespace turbolm::server {
namespace {

// The text fed in pieces of `step` bytes, then finish(): all content and all calls, in order.
ToolCallExtractor::Piece extract(std::string_view text, size_t step, ToolCallParser parser = ToolCallParser::kHermes) {
  ToolCallExtractor extractor(parser);
  ToolCallExtractor::Piece all;
  auto take = [&all](ToolCallExtractor::Piece piece) {
    all.content += piece.content;
    for (auto& call : piece.calls) all.calls.push_back(std::move(call));
  };
  for (size_t i = 0; i < text.size(); i += step) take(extractor.feed(text.substr(i, step)));
  take(extractor.finish());
  return all;
}

TEST(ToolCalls, CallsAndTheTextAroundThemInAnyPieces) {
  const std::string text =
      "Let me check.\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\", \"days\": 2}}\n"
      "</tool_call>\n<tool_call>{\"name\": \"now\"}</tool_call> done <tool";
  for (size_t step : {size_t{1}, size_t{2}, size_t{5}, size_t{11}, text.size()}) {
    const ToolCallExtractor::Piece all = extract(text, step);
    EXPECT_EQ(all.content, "Let me check.\n\n done <tool") << "step " << step;
    ASSERT_EQ(all.calls.size(), 2u) << "step " << step;
    EXPECT_EQ(all.calls[0].name, "get_weather");
    EXPECT_EQ(all.calls[0].arguments, R"({"city":"Paris","days":2})");
    EXPECT_EQ(all.calls[1].name, "now");
    EXPECT_EQ(all.calls[1].arguments, "{}");  // none given
    EXPECT_TRUE(all.calls[0].id.starts_with("call_"));
    EXPECT_NE(all.calls[0].id, all.calls[1].id);
  }
}

TEST(ToolCalls, ContentIsHeldBackOnlyWhileItCouldStartATag) {
  ToolCallExtractor extractor(ToolCallParser::kHermes);
  EXPECT_EQ(extractor.feed("It is <to").content, "It is ");
  EXPECT_EQ(extractor.feed("day").content, "<today");  // not a tag after all
  EXPECT_EQ(extractor.feed("<tool_call>{\"name\": \"f\"").content, "");
  EXPECT_EQ(extractor.calls(), 0);
  ToolCallExtractor::Piece piece = extractor.feed("}</tool_call>");
  EXPECT_EQ(piece.content, "");
  ASSERT_EQ(piece.calls.size(), 1u);
  EXPECT_EQ(extractor.calls(), 1);
}

TEST(ToolCalls, ArgumentsGivenAsTextOrAsParametersAreKept) {
  const auto all = extract(R"(<tool_call>{"name": "a", "arguments": "{\"x\": 1}"}</tool_call>)"
                           R"(<tool_call>{"name": "b", "parameters": {"é": "中"}}</tool_call>)",
                           3);
  ASSERT_EQ(all.calls.size(), 2u);
  EXPECT_EQ(all.calls[0].arguments, R"({"x": 1})");
  EXPECT_EQ(all.calls[1].arguments, R"({"é":"中"})");
}

TEST(ToolCalls, BlocksThatAreNoCallStayText) {
  for (const std::string block : {"<tool_call>not json</tool_call>", "<tool_call>[1, 2]</tool_call>",
                                  R"(<tool_call>{"arguments": {}}</tool_call>)",
                                  R"(<tool_call>{"name": 3}</tool_call>)", R"(<tool_call>{"name": ""}</tool_call>)"}) {
    const auto all = extract("a " + block + " b", 4);
    EXPECT_TRUE(all.calls.empty()) << block;
    EXPECT_EQ(all.content, "a " + block + " b");
  }
}

TEST(ToolCalls, AnUnfinishedCallComesBackAsText) {
  const auto all = extract("x <tool_call>{\"name\": \"f\", \"argu", 2);  // e.g. max_tokens reached
  EXPECT_TRUE(all.calls.empty());
  EXPECT_EQ(all.content, "x <tool_call>{\"name\": \"f\", \"argu");
}

TEST(ToolCalls, WithoutAParserEverythingIsContent) {
  ToolCallExtractor extractor(ToolCallParser::kNone);
  EXPECT_EQ(extractor.feed("<tool_call>{\"name\": \"f\"}</tool_call>").content,
            "<tool_call>{\"name\": \"f\"}</tool_call>");
  EXPECT_EQ(extractor.finish().content, "");
  EXPECT_EQ(extractor.calls(), 0);
}

TEST(ToolCalls, OpenAiObjects) {
  const ToolCall call{"call_1", "f", "{}"};
  EXPECT_EQ(
      tool_call_json(call),
      nlohmann::json::parse(R"({"id": "call_1", "type": "function", "function": {"name": "f", "arguments": "{}"}})"));
  EXPECT_EQ(tool_call_json(call, 2)["index"], 2);
}

TEST(ToolCalls, ParserNames) {
  for (const char* name : {"qwen", "qwen2d5", "qwen3", "hermes"}) {
    EXPECT_EQ(tool_call_parser_from_name(name), ToolCallParser::kHermes) << name;
  }
  EXPECT_EQ(tool_call_parser_from_name("llama3"), ToolCallParser::kLlama3Json);
  EXPECT_EQ(tool_call_parser_from_name("internlm"), ToolCallParser::kInternLM);
  EXPECT_EQ(tool_call_parser_from_name("intern-s1"), ToolCallParser::kInternLM);
  EXPECT_EQ(tool_call_parser_names().size(), 7u);
  try {
    tool_call_parser_from_name("mistral");
    ADD_FAILURE() << "accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("known: qwen, qwen2d5, qwen3, hermes, llama3, internlm, intern-s1"),
              std::string::npos)
        << e.what();
  }
  EXPECT_TRUE(tool_call_markers_are_special(ToolCallParser::kInternLM));
  EXPECT_FALSE(tool_call_markers_are_special(ToolCallParser::kHermes));
  EXPECT_FALSE(tool_call_markers_are_special(ToolCallParser::kLlama3Json));
}

// InternLM: a call is <|action_start|><|plugin|>, a newline, the JSON, <|action_end|> (the markers are special tokens,
// kept in the text because the server detokenizes with them); code for the interpreter stays content.
TEST(ToolCalls, InternLMActions) {
  const std::string text =
      "I will look it up.<|action_start|><|plugin|>\n{\"name\": \"get_weather\", \"parameters\": {\"city\": \"上海\"}}"
      "<|action_end|>\n<|action_start|><|interpreter|>\nprint(1)<|action_end|><|action_start|><|plu";
  for (size_t step : {size_t{1}, size_t{4}, size_t{9}, text.size()}) {
    const auto all = extract(text, step, ToolCallParser::kInternLM);
    ASSERT_EQ(all.calls.size(), 1u) << "step " << step;
    EXPECT_EQ(all.calls[0].name, "get_weather");
    EXPECT_EQ(all.calls[0].arguments, R"({"city":"上海"})");
    EXPECT_EQ(all.content,
              "I will look it up.\n<|action_start|><|interpreter|>\nprint(1)<|action_end|><|action_start|><|plu")
        << "step " << step;
  }
  const auto unfinished = extract("<|action_start|><|plugin|>\n{\"name\": \"f\"", 3, ToolCallParser::kInternLM);
  EXPECT_TRUE(unfinished.calls.empty());
  EXPECT_EQ(unfinished.content, "<|action_start|><|plugin|>\n{\"name\": \"f\"");
  // <|action_end|> is a stop word of InternLM's templates: the reply ends after the JSON.
  const auto stopped = extract("Sure.<|action_start|><|plugin|>\n{\"name\": \"f\", \"parameters\": {\"a\": 1}}\n", 5,
                               ToolCallParser::kInternLM);
  ASSERT_EQ(stopped.calls.size(), 1u);
  EXPECT_EQ(stopped.calls[0].arguments, R"({"a":1})");
  EXPECT_EQ(stopped.content, "Sure.");
  const auto hermes_tags = extract("<tool_call>{\"name\": \"f\"}</tool_call>", 2, ToolCallParser::kInternLM);
  EXPECT_TRUE(hermes_tags.calls.empty());  // another model's format is text
  EXPECT_EQ(hermes_tags.content, "<tool_call>{\"name\": \"f\"}</tool_call>");
}

// Each tagged parser's tags, for the startup check that they are single tokens of the served model.
TEST(ToolCalls, MarkersOfEachParser) {
  using V = std::vector<std::string_view>;
  EXPECT_EQ(tool_call_markers(ToolCallParser::kHermes), (V{"<tool_call>", "</tool_call>"}));
  EXPECT_EQ(tool_call_markers(ToolCallParser::kInternLM), (V{"<|action_start|>", "<|plugin|>", "<|action_end|>"}));
  EXPECT_TRUE(tool_call_markers(ToolCallParser::kLlama3Json).empty());
  EXPECT_TRUE(tool_call_markers(ToolCallParser::kNone).empty());
}

// Llama 3: the whole reply is the calls, as JSON objects; any other reply streams as content.
ToolCallExtractor::Piece extract_llama3(std::string_view text, size_t step) {
  ToolCallExtractor extractor(ToolCallParser::kLlama3Json);
  ToolCallExtractor::Piece all;
  for (size_t i = 0; i < text.size(); i += step) {
    ToolCallExtractor::Piece piece = extractor.feed(text.substr(i, step));
    all.content += piece.content;
    EXPECT_TRUE(piece.calls.empty());  // only whole replies are calls
  }
  ToolCallExtractor::Piece rest = extractor.finish();
  all.content += rest.content;
  all.calls = std::move(rest.calls);
  EXPECT_EQ(extractor.calls(), static_cast<int>(all.calls.size()));
  return all;
}

TEST(ToolCalls, Llama3JsonReplies) {
  const std::string two =
      "\n{\"name\": \"get_weather\", \"parameters\": {\"city\": \"Paris {or} \\\"Lyon\\\"\"}}; "
      "{\"name\": \"now\", \"parameters\": {}}";
  for (size_t step : {size_t{1}, size_t{3}, two.size()}) {
    const auto all = extract_llama3(two, step);
    EXPECT_EQ(all.content, "");
    ASSERT_EQ(all.calls.size(), 2u) << "step " << step;
    EXPECT_EQ(all.calls[0].name, "get_weather");
    EXPECT_EQ(nlohmann::json::parse(all.calls[0].arguments)["city"], "Paris {or} \"Lyon\"");
    EXPECT_EQ(all.calls[1].name, "now");
  }
  const auto tagged = extract_llama3("<|python_tag|>{\"name\": \"f\", \"parameters\": {\"x\": 1}}", 2);
  ASSERT_EQ(tagged.calls.size(), 1u);
  EXPECT_EQ(tagged.calls[0].arguments, R"({"x":1})");
}

TEST(ToolCalls, Llama3OtherRepliesAreContent) {
  ToolCallExtractor extractor(ToolCallParser::kLlama3Json);
  EXPECT_EQ(extractor.feed("  ").content, "");                      // blanks: not decided yet
  EXPECT_EQ(extractor.feed("The answer").content, "  The answer");  // streams once it is text
  EXPECT_EQ(extractor.feed(" is {\"name\": 1}").content, " is {\"name\": 1}");
  EXPECT_TRUE(extractor.finish().calls.empty());
  for (const std::string text : {"{\"name\": \"f\"} and more", "{\"name\": \"f\"", "{\"city\": \"Paris\"}",
                                 "{\"name\": \"f\"}; {\"nope\": 1}", "<|python_tag|>print(1)"}) {
    const auto all = extract_llama3(text, 2);
    EXPECT_TRUE(all.calls.empty()) << text;
    EXPECT_EQ(all.content, text);  // nothing lost
  }
}

}  // namespace
}  // namespace turbolm::server
