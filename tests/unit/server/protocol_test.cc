#include "server/protocol.h"

#include <gtest/gtest.h>

#include "server/api_error.h"
#include "server/field_reader.h"

namespace turbolm::server {
namespace {

// The ApiError a parse throws, so tests can check status and param.
template <typename F>
ApiError error_of(F&& parse) {
  try {
    parse();
  } catch (const ApiError& e) {
    return e;
  }
  ADD_FAILURE() << "no ApiError thrown";
  return ApiError::internal("none");
}

TEST(ChatRequest, DefaultsFollowLmdeploy) {
  auto p = parse_chat_completion(R"({"model":"m","messages":[{"role":"user","content":"hi"}]})");
  EXPECT_EQ(p.common.model, "m");
  EXPECT_FALSE(p.common.stream);
  EXPECT_FALSE(p.common.max_tokens.has_value());
  EXPECT_TRUE(p.request.gen.do_sample);
  EXPECT_FLOAT_EQ(p.request.gen.temperature, 0.7f);
  EXPECT_FLOAT_EQ(p.request.gen.top_p, 1.0f);
  EXPECT_EQ(p.request.gen.top_k, 40);
  EXPECT_EQ(p.request.gen.n, 1);
  EXPECT_EQ(nlohmann::json::parse(p.request.messages_json)[0]["content"], "hi");
}

TEST(ChatRequest, TemperatureZeroIsGreedy) {
  auto p = parse_chat_completion(R"({"model":"m","messages":"hi","temperature":0})");
  EXPECT_FALSE(p.request.gen.do_sample);
  EXPECT_EQ(nlohmann::json::parse(p.request.messages_json)[0]["role"], "user");
}

TEST(ChatRequest, MapsEveryField) {
  auto p = parse_chat_completion(R"({"model":"m","messages":[{"role":"system","content":"s"},
    {"role":"user","content":[{"type":"text","text":"a"},{"type":"text","text":"b"}]}],
    "stream":true,"stream_options":{"include_usage":true},"n":3,"stop":["x","y"],"max_completion_tokens":7,
    "max_tokens":99,"temperature":0.5,"top_p":0.9,"top_k":5,"min_p":0.1,"repetition_penalty":1.2,"seed":-1,
    "logprobs":true,"top_logprobs":3,"ignore_eos":true,"skip_special_tokens":false,
    "chat_template_kwargs":{"enable_thinking":false},"session_id":42,"user":"u","presence_penalty":0})");
  EXPECT_TRUE(p.common.stream);
  EXPECT_TRUE(p.common.include_usage);
  EXPECT_EQ(p.common.max_tokens, 7);  // max_completion_tokens wins
  EXPECT_EQ(p.common.session_id, 42);
  const GenerationConfig& g = p.request.gen;
  EXPECT_EQ(g.n, 3);
  EXPECT_EQ(g.stop_words, (std::vector<std::string>{"x", "y"}));
  EXPECT_FLOAT_EQ(g.temperature, 0.5f);
  EXPECT_FLOAT_EQ(g.top_p, 0.9f);
  EXPECT_EQ(g.top_k, 5);
  EXPECT_FLOAT_EQ(g.min_p, 0.1f);
  EXPECT_FLOAT_EQ(g.repetition_penalty, 1.2f);
  EXPECT_EQ(g.random_seed, ~uint64_t{0});
  EXPECT_EQ(g.logprobs, 3);
  EXPECT_TRUE(g.ignore_eos);
  EXPECT_FALSE(g.skip_special_tokens);
  EXPECT_TRUE(p.logprobs);
  EXPECT_EQ(p.top_logprobs, 3);
  EXPECT_EQ(nlohmann::json::parse(p.request.chat_template_kwargs_json)["enable_thinking"], false);
  EXPECT_EQ(nlohmann::json::parse(p.request.messages_json)[1]["content"], "a\nb");
}

TEST(ChatRequest, LogprobsWithoutTopAsksEngineForOne) {
  auto p = parse_chat_completion(R"({"model":"m","messages":"hi","logprobs":true})");
  EXPECT_EQ(p.request.gen.logprobs, 1);
  EXPECT_EQ(p.top_logprobs, 0);
}

TEST(ChatRequest, DoPreprocessFalseUsesRawPrompt) {
  auto p = parse_chat_completion(R"({"model":"m","messages":"raw text","do_preprocess":false})");
  EXPECT_EQ(p.request.prompt, "raw text");
  EXPECT_TRUE(p.request.messages_json.empty());
}

TEST(ChatRequest, RejectsBadInputWithParam) {
  struct Case {
    const char* body;
    const char* param;
  } cases[] = {
      {R"({"messages":[{"role":"user","content":"hi"}]})", "model"},
      {R"({"model":"m"})", "messages"},
      {R"({"model":"m","messages":[]})", "messages"},
      {R"({"model":"m","messages":[{"role":"wizard","content":"x"}]})", "messages[0].role"},
      {R"({"model":"m","messages":[{"content":"x"}]})", "messages[0].role"},
      {R"({"model":"m","messages":[{"role":"user","content":7}]})", "messages[0].content"},
      {R"({"model":"m","messages":[{"role":"user","content":[{"type":"image_url"}]}]})", "messages[0].content[0].type"},
      {R"({"model":"m","messages":"hi","temperature":"hot"})", "temperature"},
      {R"({"model":"m","messages":"hi","temperature":3})", "temperature"},
      {R"({"model":"m","messages":"hi","top_p":0})", "top_p"},
      {R"({"model":"m","messages":"hi","n":0})", "n"},
      {R"({"model":"m","messages":"hi","n":1.5})", "n"},
      {R"({"model":"m","messages":"hi","max_tokens":0})", "max_tokens"},
      {R"({"model":"m","messages":"hi","max_tokens":true})", "max_tokens"},
      {R"({"model":"m","messages":"hi","stop":[1]})", "stop"},
      {R"({"model":"m","messages":"hi","stream":"yes"})", "stream"},
      {R"({"model":"m","messages":"hi","stream_options":{"include_usage":true}})", "stream_options"},
      {R"({"model":"m","messages":"hi","stream":true,"stream_options":{"bogus":1}})", "stream_options.bogus"},
      {R"({"model":"m","messages":"hi","top_logprobs":2})", "top_logprobs"},
      {R"({"model":"m","messages":"hi","logprobs":true,"top_logprobs":21})", "top_logprobs"},
      {R"({"model":"m","messages":"hi","frequency_penalty":0.5})", "frequency_penalty"},
      {R"({"model":"m","messages":"hi","logit_bias":{"1":2}})", "logit_bias"},
      {R"({"model":"m","messages":"hi","response_format":{"type":"json_object"}})", "response_format.type"},
      {R"({"model":"m","messages":"hi","wat":1})", "wat"},
      {R"({"model":"m","messages":[{"role":"user","content":"x"}],"do_preprocess":false})", "messages"},
      {R"({"model":"m","messages":"hi","seed":1e30})", "seed"},
      {R"({"model":"m","messages":"hi","stop_token_ids":[-1]})", "stop_token_ids"},
      {R"({"model":"m","messages":[{"role":"assistant","tool_calls":[{"function":{"name":"f","arguments":"{x"}}]}]})",
       "messages[0].tool_calls[0].function.arguments"},
  };
  for (const Case& c : cases) {
    ApiError e = error_of([&] { parse_chat_completion(c.body); });
    EXPECT_EQ(e.status(), 400) << c.body;
    EXPECT_EQ(e.param(), c.param) << c.body << " -> " << e.message();
    EXPECT_EQ(e.type(), "invalid_request_error");
  }
}

// What the chat template sees keeps the client's key order (templates print tools and arguments with tojson), and
// tool calls sent back with JSON-text arguments reach it as objects, as LMDeploy and vLLM pass them.
TEST(ChatRequest, TemplateInputsKeepKeyOrderAndParseToolCallArguments) {
  ChatCompletionParams p = parse_chat_completion(R"({"model": "m",
      "tools": [{"type": "function", "function": {"name": "get_weather", "description": "d",
                 "parameters": {"type": "object", "properties": {"zone": {}, "city": {}}}}}],
      "chat_template_kwargs": {"zeta": 1, "alpha": 2},
      "messages": [{"role": "user", "content": "Weather?"},
                   {"role": "assistant", "content": null, "tool_calls": [
                       {"id": "call_1", "type": "function",
                        "function": {"name": "get_weather", "arguments": "{\"zone\": \"CET\", \"city\": \"Paris\"}"}},
                       {"id": "call_2", "type": "function", "function": {"name": "g", "arguments": "[1, 2]"}}]},
                   {"role": "tool", "tool_call_id": "call_1", "content": "sunny"}]})");
  EXPECT_EQ(p.request.tools_json, R"([{"type":"function","function":{"name":"get_weather","description":"d",)"
                                  R"("parameters":{"type":"object","properties":{"zone":{},"city":{}}}}}])");
  EXPECT_EQ(p.request.chat_template_kwargs_json, R"({"zeta":1,"alpha":2})");
  const auto messages = nlohmann::ordered_json::parse(p.request.messages_json);
  EXPECT_EQ(messages[1].dump(), R"({"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function",)"
                                R"("function":{"name":"get_weather","arguments":{"zone":"CET","city":"Paris"}}},)"
                                R"({"id":"call_2","type":"function","function":{"name":"g","arguments":"[1, 2]"}}]})");
  EXPECT_EQ(messages[2].dump(), R"({"role":"tool","tool_call_id":"call_1","content":"sunny"})");
}

// tool_choice as LMDeploy reads it: "required" offers every tool like "auto" (no guided decoding forces a call), a
// named function offers only that tool, "none" none; names not among the tools are a 400, not a silent empty list.
TEST(ChatRequest, ToolChoiceSelectsTheOfferedTools) {
  const std::string tools = R"("tools": [{"type": "function", "function": {"name": "a"}},
                                         {"type": "function", "function": {"name": "b"}}])";
  auto offered = [&](const std::string& choice) {
    return parse_chat_completion(R"({"model": "m", "messages": "hi", )" + tools + R"(, "tool_choice": )" + choice + "}")
        .request.tools_json;
  };
  const std::string both =
      R"([{"type":"function","function":{"name":"a"}},{"type":"function","function":{"name":"b"}}])";
  EXPECT_EQ(offered(R"("auto")"), both);
  EXPECT_EQ(offered(R"("required")"), both);
  EXPECT_EQ(offered(R"("none")"), "");
  EXPECT_EQ(offered(R"({"type": "function", "function": {"name": "b"}})"),
            R"([{"type":"function","function":{"name":"b"}}])");
  // Tools of other shapes are skipped by the name lookup, not an error of it.
  EXPECT_EQ(parse_chat_completion(R"({"model": "m", "messages": "hi", "tools": [7, {"function": {"name": 1}},
                                      {"function": "f"}, {"type": "function", "function": {"name": "a"}}],
                                      "tool_choice": {"type": "function", "function": {"name": "a"}}})")
                .request.tools_json,
            R"([{"type":"function","function":{"name":"a"}}])");

  struct Case {
    std::string body;
    const char* param;
  } cases[] = {
      {R"({"model": "m", "messages": "hi", )" + tools + R"(, "tool_choice": "always"})", "tool_choice"},
      {R"({"model": "m", "messages": "hi", )" + tools + R"(, "tool_choice": 3})", "tool_choice"},
      {R"({"model": "m", "messages": "hi", )" + tools +
           R"(, "tool_choice": {"type": "function", "function": {"name": "c"}}})",
       "tool_choice"},
      {R"({"model": "m", "messages": "hi", "tool_choice": {"type": "function", "function": {"name": "a"}}})",
       "tool_choice"},
      {R"({"model": "m", "messages": "hi", )" + tools +
           R"(, "tool_choice": {"type": "tool", "function": {"name": "a"}}})",
       "tool_choice.type"},
      {R"({"model": "m", "messages": "hi", )" + tools + R"(, "tool_choice": {"type": "function"}})",
       "tool_choice.function"},
      {R"({"model": "m", "messages": "hi", )" + tools +
           R"(, "tool_choice": {"type": "function", "function": {"name": 1}}})",
       "tool_choice.function.name"},
  };
  for (const Case& c : cases) {
    ApiError e = error_of([&] { parse_chat_completion(c.body); });
    EXPECT_EQ(e.status(), 400) << c.body;
    EXPECT_EQ(e.param(), c.param) << c.body << " -> " << e.message();
  }
}

TEST(ChatRequest, RejectsNonJsonAndNonObjects) {
  for (const char* body : {"", "{", "[1,2]", "\"x\"", "{\"a\":1}x", "\xff\xfe"}) {
    ApiError e = error_of([&] { parse_chat_completion(body); });
    EXPECT_EQ(e.status(), 400) << body;
  }
}

// Deep nesting is refused while parsing: writing such a value back out (error messages, templates) recurses per
// level and overflowed the stack at ~100,000 levels. kMaxJsonDepth levels pass, one more does not.
TEST(ChatRequest, RejectsJsonNestedTooDeeply) {
  auto body = [](int levels) {  // the body object, then levels - 1 nested arrays in an unknown field
    return "{\"x\":" + std::string(levels - 1, '[') + std::string(levels - 1, ']') + "}";
  };
  EXPECT_EQ(error_of([&] { parse_chat_completion(body(kMaxJsonDepth)); }).type(), "invalid_request_error");
  EXPECT_EQ(error_of([&] { parse_chat_completion(body(kMaxJsonDepth)); }).param(), "x");  // parsed: unknown field
  for (int levels : {kMaxJsonDepth + 1, 100000}) {
    ApiError e = error_of([&] { parse_chat_completion(body(levels)); });
    EXPECT_EQ(e.status(), 400) << levels;
    EXPECT_NE(std::string(e.what()).find("deeper than"), std::string::npos) << e.what();
  }
}

TEST(CompletionRequest, PromptForms) {
  auto one = parse_completion(R"({"model":"m","prompt":"Once"})");
  ASSERT_EQ(one.prompts.size(), 1u);
  EXPECT_EQ(one.prompts[0].prompt, "Once");
  EXPECT_EQ(one.common.max_tokens, 16);  // OpenAI's completions default
  auto list = parse_completion(R"({"model":"m","prompt":["a","b"],"n":2})");
  ASSERT_EQ(list.prompts.size(), 2u);
  EXPECT_EQ(list.prompts[1].gen.n, 2);
  auto ids = parse_completion(R"({"model":"m","prompt":[1,2,3]})");
  ASSERT_EQ(ids.prompts.size(), 1u);
  EXPECT_EQ(ids.prompts[0].prompt_ids, (std::vector<int32_t>{1, 2, 3}));
  // One prompt of token ids is not a list of prompts: it may be longer than the 1024-prompt limit.
  std::string many = "5";
  for (int i = 1; i < 2000; ++i) many += ",5";
  auto long_ids = parse_completion(R"({"model":"m","prompt":[)" + many + "]}");
  ASSERT_EQ(long_ids.prompts.size(), 1u);
  EXPECT_EQ(long_ids.prompts[0].prompt_ids.size(), 2000u);
  auto nested = parse_completion(R"({"model":"m","prompt":[[1],[2,3]],"logprobs":2})");
  ASSERT_EQ(nested.prompts.size(), 2u);
  EXPECT_EQ(nested.logprobs, 2);
  EXPECT_EQ(nested.prompts[0].gen.logprobs, 2);
}

TEST(CompletionRequest, RejectsSuffixAndBadPrompts) {
  EXPECT_EQ(error_of([] { parse_completion(R"({"model":"m","prompt":"a","suffix":"b"})"); }).param(), "suffix");
  EXPECT_EQ(error_of([] { parse_completion(R"({"model":"m","prompt":[]})"); }).param(), "prompt");
  EXPECT_EQ(error_of([] { parse_completion(R"({"model":"m","prompt":""})"); }).param(), "prompt");
  EXPECT_EQ(error_of([] { parse_completion(R"({"model":"m","prompt":[{"a":1}]})"); }).param(), "prompt[0]");
  EXPECT_EQ(error_of([] { parse_completion(R"({"model":"m","prompt":[1,"a"]})"); }).param(), "prompt");
  EXPECT_EQ(error_of([] { parse_completion(R"({"model":"m","prompt":"a","best_of":3})"); }).param(), "best_of");
  EXPECT_EQ(error_of([] { parse_completion(R"({"model":"m"})"); }).param(), "prompt");
  EXPECT_NO_THROW(parse_completion(R"({"model":"m","prompt":"a","echo":true,"logprobs":1})"));  // prompt logprobs
  // An empty suffix is what some clients send by default; it means "no suffix".
  EXPECT_NO_THROW(parse_completion(R"({"model":"m","prompt":"a","suffix":""})"));
}

TEST(EncodeRequest, SingleAndBatch) {
  auto one = parse_encode(R"({"input":"hi"})");
  EXPECT_FALSE(one.batched);
  EXPECT_TRUE(one.add_bos);
  auto batch = parse_encode(R"({"input":["a","b"],"add_bos":false,"do_preprocess":true})");
  EXPECT_TRUE(batch.batched);
  EXPECT_EQ(batch.inputs.size(), 2u);
  EXPECT_FALSE(batch.add_bos);
  EXPECT_TRUE(batch.do_preprocess);
  EXPECT_EQ(error_of([] { parse_encode(R"({"input":5})"); }).param(), "input");
}

TEST(GenerateRequest, TokenInTokenOut) {
  auto p = parse_generate(R"({"input_ids":[5,6],"max_tokens":4,"return_logprob":true,"stream":true})");
  EXPECT_EQ(p.request.prompt_ids, (std::vector<int32_t>{5, 6}));
  EXPECT_EQ(p.common.max_tokens, 4);
  EXPECT_TRUE(p.return_logprob);
  EXPECT_EQ(p.request.gen.logprobs, 1);
  EXPECT_FLOAT_EQ(p.request.gen.temperature, 1.0f);
  EXPECT_EQ(p.request.gen.top_k, 0);
  auto text = parse_generate(R"({"prompt":"hi"})");
  EXPECT_EQ(text.request.prompt, "hi");
  EXPECT_EQ(text.common.max_tokens, 128);
  EXPECT_EQ(error_of([] { parse_generate(R"({"prompt":"a","input_ids":[1]})"); }).param(), "prompt");
  EXPECT_EQ(error_of([] { parse_generate(R"({})"); }).param(), "prompt");
  EXPECT_EQ(error_of([] { parse_generate(R"({"input_ids":[1.5]})"); }).param(), "input_ids");
}

TEST(AbortRequest, SessionOrAll) {
  EXPECT_TRUE(parse_abort(R"({"abort_all":true})").abort_all);
  EXPECT_EQ(parse_abort(R"({"session_id":7})").session_id, 7);
  EXPECT_EQ(error_of([] { parse_abort(R"({})"); }).param(), "session_id");
  // An empty body is bad input like {} (it used to parse as neither, and the handler read the empty session id).
  EXPECT_EQ(error_of([] { parse_abort(""); }).status(), 400);
}

}  // namespace
}  // namespace turbolm::server
