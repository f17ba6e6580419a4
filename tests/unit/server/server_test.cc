// The whole server over loopback against FakeEngine: endpoints, errors, auth, limits, disconnects, shutdown.
#include "server/server.h"

#include <gtest/gtest.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <filesystem>
#include <future>
#include <sstream>
#include <thread>

#include "core/logging.h"
#include "fake_engine.h"
#include "http_client.h"
#include "server/load_generator.h"

namespace turbolm::server {
namespace {

using testing::FakeEngine;
using testing::HttpResponse;
using testing::sse_payloads;
using namespace std::chrono_literals;

const std::string kScript = FakeEngine::Options{}.script;

class ServerTest : public ::testing::Test {
 protected:
  void start(ServerConfig config = {}, FakeEngine::Options options = {}) {
    config.host = "127.0.0.1";
    config.port = 0;
    config.handle_signals = false;
    auto engine = std::make_unique<FakeEngine>(options);
    engine_ = engine.get();
    server_ = std::make_unique<Server>(std::move(engine), config);
    port_ = server_->listen();
    thread_ = std::thread([this] { server_->run(); });
  }
  void TearDown() override { stop(); }
  void stop() {
    if (!server_) return;
    server_->stop();
    thread_.join();
    server_.reset();
  }

  HttpResponse get(const std::string& target, const testing::Headers& headers = {}) {
    return testing::http_request(port_, "GET", target, "", headers);
  }
  HttpResponse post(const std::string& target, const nlohmann::json& body, const testing::Headers& headers = {}) {
    return testing::http_request(port_, "POST", target, body.dump(), headers);
  }
  // Polls until the fake engine holds no running request and no KV block.
  bool engine_drains(std::chrono::milliseconds timeout = 3000ms) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      EngineStats s = engine_->stats();
      if (s.running == 0 && s.kv_blocks_used == 0) return true;
      std::this_thread::sleep_for(10ms);
    }
    return false;
  }

  bool metrics_show(const std::string& line) {
    for (int i = 0; i < 200; ++i) {
      HttpResponse r = get("/metrics");
      if (r.status == 200 && r.body.find(line) != std::string::npos) return true;
      std::this_thread::sleep_for(5ms);
    }
    return false;
  }

  // A fake engine whose replies run until they are aborted (1,000 tokens, 20 ms each): a request the test acts on
  // is still running, with no race against its end.
  static FakeEngine::Options endless_replies() {
    FakeEngine::Options options;
    options.token_delay = 20ms;
    options.script = std::string(1000, 'z');
    return options;
  }
  // Waits until the fake engine runs a request.
  void wait_until_running() const {
    while (engine_->stats().running == 0) std::this_thread::sleep_for(1ms);
  }

  static nlohmann::json chat(nlohmann::json extra = nlohmann::json::object()) {
    nlohmann::json body = {{"model", "fake-model"}, {"messages", {{{"role", "user"}, {"content", "hi"}}}}};
    body.update(extra);
    return body;
  }

  FakeEngine* engine_ = nullptr;
  std::unique_ptr<Server> server_;
  std::thread thread_;
  uint16_t port_ = 0;
};

// Opens a raw connection, sends `body` as a POST and returns the socket (to read a little and drop it).
boost::asio::ip::tcp::socket raw_post(boost::asio::io_context& io, uint16_t port, const std::string& target,
                                      const std::string& body) {
  boost::asio::ip::tcp::socket socket(io);
  socket.connect({boost::asio::ip::make_address("127.0.0.1"), port});
  std::string request =
      "POST " + target +
      " HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
      "\r\n\r\n" + body;
  boost::asio::write(socket, boost::asio::buffer(request));
  return socket;
}

TEST_F(ServerTest, ListsModelsAndHealth) {
  start();
  HttpResponse r = get("/v1/models");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json()["object"], "list");
  EXPECT_EQ(r.json()["data"][0]["id"], "fake-model");
  EXPECT_EQ(get("/health").status, 200);
  EXPECT_EQ(testing::http_request(port_, "HEAD", "/health").status, 200);
  // HEAD: GET's headers, Content-Length included, and no body.
  HttpResponse head = testing::http_request(port_, "HEAD", "/v1/models");
  EXPECT_EQ(head.status, 200);
  EXPECT_EQ(head.header("Content-Length"), std::to_string(r.body.size()));
  EXPECT_TRUE(head.body.empty());
  EXPECT_EQ(get("/v1/models").status, 200);                  // the connection handling after a HEAD is sound
  EXPECT_EQ(get("http://127.0.0.1/v1/models").status, 200);  // absolute form (RFC 9112 3.2.2)
}

TEST_F(ServerTest, ChatCompletionWithUsage) {
  start();
  HttpResponse r = post("/v1/chat/completions", chat({{"temperature", 0}}));
  ASSERT_EQ(r.status, 200) << r.body;
  nlohmann::json j = r.json();
  EXPECT_EQ(j["object"], "chat.completion");
  EXPECT_EQ(j["model"], "fake-model");
  EXPECT_EQ(j["choices"][0]["message"]["role"], "assistant");
  EXPECT_EQ(j["choices"][0]["message"]["content"], kScript);
  EXPECT_EQ(j["choices"][0]["finish_reason"], "stop");
  int prompt = static_cast<int>(engine_->prompt_ids(engine_->last_request()).size());
  EXPECT_EQ(j["usage"]["prompt_tokens"], prompt);
  EXPECT_EQ(j["usage"]["completion_tokens"], kScript.size() + 1);  // + EOS
  EXPECT_EQ(j["usage"]["total_tokens"], prompt + kScript.size() + 1);
  EXPECT_FALSE(engine_->last_request().gen.do_sample);
}

TEST_F(ServerTest, StreamedChatReassemblesToTheSameText) {
  start();
  HttpResponse r = post("/v1/chat/completions",
                        chat({{"stream", true}, {"stream_options", {{"include_usage", true}}}, {"temperature", 0}}));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.header("Content-Type"), "text/event-stream");
  auto events = sse_payloads(r.body);
  ASSERT_GE(events.size(), 3u);
  EXPECT_EQ(events.back(), "[DONE]");
  std::string text, finish;
  for (size_t i = 0; i + 2 < events.size(); ++i) {
    nlohmann::json chunk = nlohmann::json::parse(events[i]);
    EXPECT_EQ(chunk["object"], "chat.completion.chunk");
    EXPECT_TRUE(chunk["usage"].is_null());
    const auto& choice = chunk["choices"][0];
    if (i == 0) {
      EXPECT_EQ(choice["delta"]["role"], "assistant");
    }
    if (choice["delta"].contains("content")) text += choice["delta"]["content"].get<std::string>();
    if (!choice["finish_reason"].is_null()) finish = choice["finish_reason"];
  }
  EXPECT_EQ(text, kScript);
  EXPECT_EQ(finish, "stop");
  nlohmann::json usage_chunk = nlohmann::json::parse(events[events.size() - 2]);
  EXPECT_TRUE(usage_chunk["choices"].empty());
  EXPECT_EQ(usage_chunk["usage"]["completion_tokens"], kScript.size() + 1);
}

// --tool-call-parser: a chat request that offers tools gets the calls the model wrote as OpenAI tool_calls.
constexpr std::string_view kToolScript =
    "Let me look.\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n</tool_call>";

// A streamed chat reply's first choice, its deltas joined: reasoning, content, tool calls and the finish reason.
struct StreamedChoice {
  std::string reasoning, content, finish;
  std::vector<nlohmann::json> calls;
};

StreamedChoice streamed_choice(const HttpResponse& r) {
  StreamedChoice out;
  for (const std::string& event : sse_payloads(r.body)) {
    if (event == "[DONE]") break;
    const nlohmann::json chunk = nlohmann::json::parse(event);
    const auto& choice = chunk["choices"][0];
    const auto& delta = choice["delta"];
    if (delta.contains("reasoning_content")) out.reasoning += delta["reasoning_content"].get<std::string>();
    if (delta.contains("content")) out.content += delta["content"].get<std::string>();
    if (delta.contains("tool_calls")) {
      for (const auto& call : delta["tool_calls"]) out.calls.push_back(call);
    }
    if (!choice["finish_reason"].is_null()) out.finish = choice["finish_reason"];
  }
  return out;
}

nlohmann::json weather_tools() {
  return nlohmann::json::parse(R"([{"type": "function", "function": {"name": "get_weather",
      "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}])");
}

TEST_F(ServerTest, ToolCallsComeBackAsToolCalls) {
  ServerConfig config;
  config.tool_call_parser = ToolCallParser::kHermes;
  FakeEngine::Options options;
  options.script = kToolScript;
  start(config, options);
  nlohmann::json j = post("/v1/chat/completions", chat({{"tools", weather_tools()}, {"n", 2}})).json();
  ASSERT_EQ(j["choices"].size(), 2u) << j;
  for (const auto& choice : j["choices"]) {
    EXPECT_EQ(choice["finish_reason"], "tool_calls");
    EXPECT_EQ(choice["message"]["content"], "Let me look.");
    ASSERT_EQ(choice["message"]["tool_calls"].size(), 1u) << choice;
    const auto& call = choice["message"]["tool_calls"][0];
    EXPECT_EQ(call["type"], "function");
    EXPECT_TRUE(call["id"].get<std::string>().starts_with("call_"));
    EXPECT_EQ(call["function"]["name"], "get_weather");
    EXPECT_EQ(nlohmann::json::parse(call["function"]["arguments"].get<std::string>()),
              (nlohmann::json{{"city", "Paris"}}));
    EXPECT_FALSE(call.contains("index"));
  }
  // Without tools in the request (or with tool_choice "none") the text is the content, as before.
  for (const nlohmann::json& extra :
       {nlohmann::json::object(), nlohmann::json{{"tools", weather_tools()}, {"tool_choice", "none"}}}) {
    nlohmann::json plain = post("/v1/chat/completions", chat(extra)).json();
    EXPECT_EQ(plain["choices"][0]["message"]["content"], kToolScript) << extra;
    EXPECT_FALSE(plain["choices"][0]["message"].contains("tool_calls"));
    EXPECT_EQ(plain["choices"][0]["finish_reason"], "stop");
  }
  // Cut short inside the call: the text comes back, no call.
  nlohmann::json cut = post("/v1/chat/completions", chat({{"tools", weather_tools()}, {"max_tokens", 30}})).json();
  EXPECT_EQ(cut["choices"][0]["message"]["content"], kToolScript.substr(0, 30));
  EXPECT_EQ(cut["choices"][0]["finish_reason"], "length");
}

TEST_F(ServerTest, StreamedToolCallsArriveWhole) {
  ServerConfig config;
  config.tool_call_parser = ToolCallParser::kHermes;
  FakeEngine::Options options;
  options.script = kToolScript;  // one byte per output: the tags arrive in pieces
  start(config, options);
  HttpResponse r = post("/v1/chat/completions", chat({{"tools", weather_tools()}, {"stream", true}}));
  ASSERT_EQ(r.status, 200) << r.body;
  const StreamedChoice streamed = streamed_choice(r);
  EXPECT_EQ(streamed.content, "Let me look.\n");  // streamed as it came, up to the tag
  ASSERT_EQ(streamed.calls.size(), 1u);
  EXPECT_EQ(streamed.calls[0]["index"], 0);
  EXPECT_EQ(streamed.calls[0]["function"]["name"], "get_weather");
  EXPECT_EQ(nlohmann::json::parse(streamed.calls[0]["function"]["arguments"].get<std::string>()),
            (nlohmann::json{{"city", "Paris"}}));
  EXPECT_EQ(streamed.finish, "tool_calls");
}

// --tool-call-parser llama3: the calls are known only when the reply has ended (they were once dropped there).
TEST_F(ServerTest, Llama3ToolCallsComeOutAtTheEnd) {
  ServerConfig config;
  config.tool_call_parser = ToolCallParser::kLlama3Json;
  FakeEngine::Options options;
  options.script = R"({"name": "get_weather", "parameters": {"city": "Paris"}})";
  start(config, options);
  nlohmann::json j = post("/v1/chat/completions", chat({{"tools", weather_tools()}})).json();
  EXPECT_TRUE(j["choices"][0]["message"]["content"].is_null()) << j;
  ASSERT_EQ(j["choices"][0]["message"]["tool_calls"].size(), 1u) << j;
  EXPECT_EQ(j["choices"][0]["message"]["tool_calls"][0]["function"]["arguments"], R"({"city":"Paris"})");
  EXPECT_EQ(j["choices"][0]["finish_reason"], "tool_calls");
  HttpResponse r = post("/v1/chat/completions", chat({{"tools", weather_tools()}, {"stream", true}}));
  const StreamedChoice streamed = streamed_choice(r);
  ASSERT_EQ(streamed.calls.size(), 1u) << r.body;
  EXPECT_EQ(streamed.calls[0]["index"], 0);
  EXPECT_EQ(streamed.calls[0]["function"]["name"], "get_weather");
  EXPECT_EQ(streamed.finish, "tool_calls");
}

// --tool-call-parser internlm: the call markers are special tokens, so a request with tools is detokenized with them.
TEST_F(ServerTest, InternLMToolCallsKeepSpecialTokens) {
  ServerConfig config;
  config.tool_call_parser = ToolCallParser::kInternLM;
  FakeEngine::Options options;
  options.script =
      "Sure.<|action_start|><|plugin|>\n{\"name\": \"get_weather\", \"parameters\": {\"city\": \"Paris\"}}"
      "<|action_end|>";
  start(config, options);
  nlohmann::json j = post("/v1/chat/completions", chat({{"tools", weather_tools()}})).json();
  EXPECT_FALSE(engine_->last_request().gen.skip_special_tokens);
  EXPECT_EQ(j["choices"][0]["message"]["content"], "Sure.") << j;
  ASSERT_EQ(j["choices"][0]["message"]["tool_calls"].size(), 1u) << j;
  EXPECT_EQ(j["choices"][0]["message"]["tool_calls"][0]["function"]["name"], "get_weather");
  EXPECT_EQ(j["choices"][0]["finish_reason"], "tool_calls");
  post("/v1/chat/completions", chat());  // no tools: special tokens skipped as usual
  EXPECT_TRUE(engine_->last_request().gen.skip_special_tokens);
}

// --reasoning-parser: <think>...</think> comes back as reasoning_content, whole and streamed.
TEST_F(ServerTest, ReasoningComesBackAsReasoningContent) {
  ServerConfig config;
  config.reasoning_parser = ReasoningParser::kTagged;
  FakeEngine::Options options;
  options.script = "<think>\nA greeting.\n</think>\n\nHello!";
  start(config, options);
  nlohmann::json j = post("/v1/chat/completions", chat()).json();
  EXPECT_EQ(j["choices"][0]["message"]["reasoning_content"], "A greeting.") << j;
  EXPECT_EQ(j["choices"][0]["message"]["content"], "Hello!");
  EXPECT_EQ(j["choices"][0]["finish_reason"], "stop");
  const StreamedChoice streamed = streamed_choice(post("/v1/chat/completions", chat({{"stream", true}})));
  EXPECT_EQ(streamed.reasoning, "\nA greeting.\n");
  EXPECT_EQ(streamed.content, "Hello!");
  // Cut short while thinking: all of it is reasoning, the content is empty.
  nlohmann::json cut = post("/v1/chat/completions", chat({{"max_tokens", 12}})).json();
  EXPECT_EQ(cut["choices"][0]["message"]["reasoning_content"], "A gr");  // 12 tokens: "<think>\nA gr"
  EXPECT_EQ(cut["choices"][0]["message"]["content"], "");
  EXPECT_EQ(cut["choices"][0]["finish_reason"], "length");
}

// enable_thinking false (top level, or in chat_template_kwargs; or kwargs.thinking): the reply is all content, even
// with a parser whose replies start as reasoning (LMDeploy's `default`).
TEST_F(ServerTest, ThinkingTurnedOffMakesTheReplyContent) {
  ServerConfig config;
  config.reasoning_parser = ReasoningParser::kOpened;
  FakeEngine::Options options;
  options.script = "Hello!";
  start(config, options);
  nlohmann::json on = post("/v1/chat/completions", chat()).json();
  EXPECT_EQ(on["choices"][0]["message"]["reasoning_content"], "Hello!") << on;  // never closed: reasoning
  for (const nlohmann::json& off : {nlohmann::json{{"enable_thinking", false}},
                                    nlohmann::json{{"chat_template_kwargs", {{"enable_thinking", false}}}},
                                    nlohmann::json{{"chat_template_kwargs", {{"thinking", false}}}}}) {
    nlohmann::json j = post("/v1/chat/completions", chat(off)).json();
    EXPECT_EQ(j["choices"][0]["message"]["content"], "Hello!") << off << j;
    EXPECT_FALSE(j["choices"][0]["message"].contains("reasoning_content")) << off;
  }
  nlohmann::json explicit_on =
      post("/v1/chat/completions", chat({{"chat_template_kwargs", {{"enable_thinking", true}, {"thinking", false}}}}))
          .json();
  EXPECT_EQ(explicit_on["choices"][0]["message"]["reasoning_content"], "Hello!");  // enable_thinking decides
}

TEST_F(ServerTest, WithoutReasoningParserThinkingIsContent) {
  FakeEngine::Options options;
  options.script = "<think>x</think>y";
  start({}, options);
  nlohmann::json j = post("/v1/chat/completions", chat()).json();
  EXPECT_EQ(j["choices"][0]["message"]["content"], "<think>x</think>y");
  EXPECT_FALSE(j["choices"][0]["message"].contains("reasoning_content"));
}

TEST_F(ServerTest, MaxTokensStopsNChoicesAndLogprobs) {
  start();
  nlohmann::json j =
      post("/v1/chat/completions", chat({{"max_tokens", 4}, {"n", 2}, {"logprobs", true}, {"top_logprobs", 2}})).json();
  ASSERT_EQ(j["choices"].size(), 2u) << j;
  for (const auto& choice : j["choices"]) {
    EXPECT_EQ(choice["message"]["content"], kScript.substr(0, 4));
    EXPECT_EQ(choice["finish_reason"], "length");
    ASSERT_EQ(choice["logprobs"]["content"].size(), 4u);
    EXPECT_EQ(choice["logprobs"]["content"][0]["token"], "O");
    EXPECT_EQ(choice["logprobs"]["content"][0]["top_logprobs"].size(), 2u);
  }
  EXPECT_EQ(j["usage"]["completion_tokens"], 8);
  // The prompt ran once: the forked second choice's blocks are no prefix-cache hit (it reported all of them).
  EXPECT_EQ(j["usage"]["prompt_tokens_details"]["cached_tokens"], 0) << j["usage"];
  nlohmann::json stopped = post("/v1/chat/completions", chat({{"stop", ","}})).json();
  EXPECT_EQ(stopped["choices"][0]["message"]["content"], "Once upon a time");
  EXPECT_EQ(stopped["choices"][0]["finish_reason"], "stop");
}

// echo + logprobs (lm-eval-harness's loglikelihood request): the prompt's tokens lead the logprobs, the first one
// null, the others scored with their top-N; then the generated tokens'. Whole and streamed (in the echo chunk).
TEST_F(ServerTest, CompletionsEchoWithPromptLogprobs) {
  start();
  const float a = FakeEngine::fake_logprob('a' + 3), b = FakeEngine::fake_logprob('b' + 3);
  nlohmann::json j =
      post("/v1/completions",
           {{"model", "fake-model"}, {"prompt", "ab"}, {"echo", true}, {"logprobs", 2}, {"max_tokens", 2}})
          .json();
  const nlohmann::json& lp = j["choices"][0]["logprobs"];
  EXPECT_EQ(j["choices"][0]["text"], "abOn") << j;
  EXPECT_EQ(lp["tokens"], nlohmann::json({"<s>", "a", "b", "O", "n"})) << lp;
  EXPECT_TRUE(lp["token_logprobs"][0].is_null());
  EXPECT_TRUE(lp["top_logprobs"][0].is_null());
  EXPECT_FLOAT_EQ(lp["token_logprobs"][1].get<float>(), a);
  EXPECT_FLOAT_EQ(lp["token_logprobs"][2].get<float>(), b);
  EXPECT_EQ(lp["top_logprobs"][1].size(), 2u);
  EXPECT_FLOAT_EQ(lp["top_logprobs"][1]["a"].get<float>(), a);
  EXPECT_FLOAT_EQ(lp["top_logprobs"][1]["b"].get<float>(), a - 1.0f);
  EXPECT_EQ(lp["token_logprobs"].size(), 5u);
  EXPECT_EQ(lp["text_offset"], nlohmann::json({0, 3, 4, 5, 6}));
  HttpResponse s = post("/v1/completions", {{"model", "fake-model"},
                                            {"prompt", {5, 6, 7}},
                                            {"echo", true},
                                            {"logprobs", 1},
                                            {"max_tokens", 1},
                                            {"stream", true}});
  const auto events = sse_payloads(s.body);
  ASSERT_GE(events.size(), 2u) << s.body;
  const nlohmann::json first = nlohmann::json::parse(events[0])["choices"][0];
  EXPECT_EQ(first["logprobs"]["tokens"].size(), 3u) << first;
  EXPECT_TRUE(first["logprobs"]["token_logprobs"][0].is_null());
  EXPECT_FLOAT_EQ(first["logprobs"]["token_logprobs"][2].get<float>(), FakeEngine::fake_logprob(7));
  const nlohmann::json next = nlohmann::json::parse(events[1])["choices"][0];
  EXPECT_EQ(next["logprobs"]["text_offset"][0], 3);  // after the prompt's three one-character tokens
}

TEST_F(ServerTest, CompletionsBatchEchoAndStream) {
  start();
  nlohmann::json j =
      post("/v1/completions", {{"model", "fake-model"}, {"prompt", {"A", "B"}}, {"echo", true}, {"max_tokens", 3}})
          .json();
  ASSERT_EQ(j["choices"].size(), 2u) << j;
  EXPECT_EQ(j["object"], "text_completion");
  EXPECT_EQ(j["choices"][0]["text"], "AOnc");
  EXPECT_EQ(j["choices"][1]["text"], "BOnc");
  EXPECT_EQ(j["usage"]["prompt_tokens"], 4);  // BOS + 1 byte each
  nlohmann::json lp =
      post("/v1/completions", {{"model", "fake-model"}, {"prompt", {5, 6}}, {"max_tokens", 2}, {"logprobs", 1}}).json();
  EXPECT_EQ(lp["choices"][0]["logprobs"]["tokens"], nlohmann::json({"O", "n"}));
  EXPECT_EQ(lp["choices"][0]["logprobs"]["text_offset"], nlohmann::json({0, 1}));
  HttpResponse s = post("/v1/completions", {{"model", "fake-model"}, {"prompt", "x"}, {"stream", true}});
  auto events = sse_payloads(s.body);
  std::string text;
  for (size_t i = 0; i + 1 < events.size(); ++i) text += nlohmann::json::parse(events[i])["choices"][0]["text"];
  EXPECT_EQ(text, kScript.substr(0, 16));
}

// OpenAI, vLLM and LMDeploy give text_offset as an index into the text as a (Python) string of characters, not
// of UTF-8 bytes: in "\u00e9!" the "!" is at 1. Offsets used to count bytes (2), off by one per multi-byte char.
TEST_F(ServerTest, CompletionTextOffsetsCountCharacters) {
  FakeEngine::Options options;
  options.script = "\xC3\xA9!";  // "é!": the fake engine's tokens are bytes, so "é" is two tokens
  start({}, options);
  for (bool stream : {false, true}) {
    HttpResponse r =
        post("/v1/completions",
             {{"model", "fake-model"}, {"prompt", "x"}, {"max_tokens", 3}, {"logprobs", 1}, {"stream", stream}});
    ASSERT_EQ(r.status, 200) << r.body;
    nlohmann::json offsets = nlohmann::json::array();
    std::vector<nlohmann::json> bodies;
    if (stream) {
      for (const std::string& event : sse_payloads(r.body)) {
        if (event != "[DONE]") bodies.push_back(nlohmann::json::parse(event));
      }
    } else {
      bodies.push_back(r.json());
    }
    for (const nlohmann::json& body : bodies) {
      const nlohmann::json& logprobs = body["choices"][0]["logprobs"];
      if (logprobs.is_null()) continue;
      for (const auto& offset : logprobs["text_offset"]) offsets.push_back(offset);
    }
    EXPECT_EQ(offsets, nlohmann::json({0, 1, 1})) << "stream " << stream << ": " << r.body;
  }
}

TEST_F(ServerTest, EncodeGenerateAndMetrics) {
  start();
  nlohmann::json enc = post("/v1/encode", {{"input", "ab"}}).json();
  EXPECT_EQ(enc["input_ids"], nlohmann::json({1, 'a' + 3, 'b' + 3}));
  EXPECT_EQ(enc["length"], 3);
  nlohmann::json batch = post("/v1/encode", {{"input", {"a", "bc"}}, {"add_bos", false}}).json();
  EXPECT_EQ(batch["length"], nlohmann::json({1, 2}));
  nlohmann::json gen = post("/generate", {{"input_ids", {5, 6}}, {"max_tokens", 3}, {"return_logprob", true}}).json();
  EXPECT_EQ(gen["text"], "Onc");
  EXPECT_EQ(gen["output_ids"], nlohmann::json({'O' + 3, 'n' + 3, 'c' + 3}));
  EXPECT_EQ(gen["meta_info"]["prompt_tokens"], 2);
  EXPECT_EQ(gen["meta_info"]["completion_tokens"], 3);
  EXPECT_EQ(gen["meta_info"]["finish_reason"]["type"], "length");
  EXPECT_EQ(gen["meta_info"]["output_token_logprobs"].size(), 3u);
  HttpResponse stream = post("/generate", {{"prompt", "x"}, {"max_tokens", 2}, {"stream", true}});
  std::vector<int32_t> streamed_ids;
  auto events = sse_payloads(stream.body);
  for (const auto& e : events) {
    nlohmann::json chunk = nlohmann::json::parse(e);
    for (int32_t id : chunk["output_ids"]) streamed_ids.push_back(id);
  }
  EXPECT_EQ(streamed_ids.size(), 2u);
  EXPECT_EQ(nlohmann::json::parse(events.back())["meta_info"]["finish_reason"]["type"], "length");
  // A request is counted after its last byte is written, so the client may look a moment early.
  for (const char* line : {"turbolm:http_requests_total{route=\"/generate\",status=\"200\"} 2",
                           "turbolm:generation_tokens_total 5", "turbolm:kv_cache_blocks_used 0"}) {
    EXPECT_TRUE(metrics_show(line)) << line << "\n" << get("/metrics").body;
  }
}

// /get_ppl (LMDeploy): {"ppl": mean -log p} over every token but the first, text (with the BOS) or token ids.
TEST_F(ServerTest, GetPplScoresEveryTokenButTheFirst) {
  FakeEngine::Options options;
  options.session_len = 16;
  start({}, options);
  auto mean_nll = [](std::vector<int32_t> scored) {
    double sum = 0;
    for (int32_t t : scored) sum -= FakeEngine::fake_logprob(t);
    return sum / static_cast<double>(scored.size());
  };
  nlohmann::json ids = post("/get_ppl", {{"input", {5, 6, 7, 8}}}).json();
  EXPECT_NEAR(ids["ppl"].get<double>(), mean_nll({6, 7, 8}), 1e-6) << ids;
  nlohmann::json text = post("/get_ppl", {{"input", "ab"}}).json();  // BOS, a, b: a and b are scored
  EXPECT_NEAR(text["ppl"].get<double>(), mean_nll({'a' + 3, 'b' + 3}), 1e-6) << text;
  for (const nlohmann::json& bad :
       {nlohmann::json{{"input", {5}}}, nlohmann::json{{"input", ""}}, nlohmann::json{{"input", {5, 9999}}},
        nlohmann::json{{"input", 3}}, nlohmann::json::object(), nlohmann::json{{"input", {5, 6}}, {"extra", 1}},
        nlohmann::json{{"input", std::vector<int>(17, 5)}}}) {
    HttpResponse r = post("/get_ppl", bad);
    EXPECT_EQ(r.status, 400) << bad << " " << r.body;
  }
  EXPECT_NE(post("/get_ppl", {{"input", {5}}}).body.find("at least 2"), std::string::npos);
  EXPECT_NE(post("/get_ppl", {{"input", std::vector<int>(17, 5)}}).body.find("session_len"), std::string::npos);
}

TEST_F(ServerTest, ErrorClasses) {
  ServerConfig config;
  config.max_body_bytes = 1024;
  FakeEngine::Options options;
  options.session_len = 64;
  start(config, options);
  auto expect_error = [](const HttpResponse& r, int status, const char* code = nullptr) {
    EXPECT_EQ(r.status, status) << r.body;
    nlohmann::json j = r.json();
    ASSERT_TRUE(j.contains("error")) << r.body;
    for (const char* key : {"message", "type", "param", "code"}) EXPECT_TRUE(j["error"].contains(key)) << r.body;
    if (code) {
      EXPECT_EQ(j["error"]["code"], code) << r.body;
    }
  };
  expect_error(post("/v1/chat/completions", chat({{"model", "gpt-4"}})), 404, "model_not_found");
  expect_error(get("/v1/nothing"), 404);
  expect_error(get("/v1/chat/completions"), 405);
  expect_error(testing::http_request(port_, "POST", "/v1/chat/completions", "{not json"), 400, "invalid_json");
  expect_error(post("/v1/chat/completions", chat({{"temperature", "hot"}})), 400);
  expect_error(post("/v1/chat/completions", chat({{"bogus_field", 1}})), 400, "unknown_parameter");
  expect_error(post("/v1/completions", {{"model", "fake-model"}, {"prompt", "a"}, {"suffix", "b"}}), 400);
  // The engine's own validation (prompt longer than session_len) is bad input too: 400, never 500.
  expect_error(post("/v1/completions", {{"model", "fake-model"}, {"prompt", std::string(100, 'x')}}), 400);
  expect_error(post("/generate", {{"input_ids", {1000}}}), 400);
  expect_error(testing::http_request(port_, "POST", "/v1/chat/completions", std::string(2048, ' ')), 413,
               "request_too_large");
  EXPECT_EQ(get("/v1/models").status, 200);  // the server is still fine
}

TEST_F(ServerTest, ApiKeys) {
  ServerConfig config;
  config.api_keys = {"secret"};
  start(config);
  HttpResponse missing = get("/v1/models");
  EXPECT_EQ(missing.status, 401);
  EXPECT_EQ(missing.json()["error"]["code"], "invalid_api_key");
  EXPECT_EQ(missing.header("WWW-Authenticate"), "Bearer");  // RFC 9110 11.6.1: a 401 names its scheme
  EXPECT_EQ(get("/v1/models", {{"Authorization", "Bearer wrong"}}).status, 401);
  EXPECT_EQ(get("/metrics").status, 401);
  EXPECT_EQ(get("/v1/models", {{"Authorization", "Bearer secret"}}).status, 200);
  EXPECT_EQ(get("/health").status, 200);
}

TEST_F(ServerTest, CorsPreflight) {
  ServerConfig config;
  config.allow_origins = {"http://ui.example"};
  start(config);
  HttpResponse r = testing::http_request(port_, "OPTIONS", "/v1/chat/completions", "",
                                         {{"Origin", "http://ui.example"},
                                          {"Access-Control-Request-Method", "POST"},
                                          {"Access-Control-Request-Headers", "authorization,content-type"}});
  EXPECT_EQ(r.status, 204);
  EXPECT_EQ(r.header("Access-Control-Allow-Origin"), "http://ui.example");
  EXPECT_EQ(r.header("Access-Control-Allow-Headers"), "authorization,content-type");
  EXPECT_EQ(get("/v1/models", {{"Origin", "http://ui.example"}}).header("Access-Control-Allow-Origin"),
            "http://ui.example");
  EXPECT_EQ(get("/v1/models", {{"Origin", "http://evil.example"}}).header("Access-Control-Allow-Origin"), "");
  // A preflight from an origin not allowed used to get 204 (without CORS headers); Starlette answers 400.
  HttpResponse refused =
      testing::http_request(port_, "OPTIONS", "/v1/chat/completions", "",
                            {{"Origin", "http://evil.example"}, {"Access-Control-Request-Method", "POST"}});
  EXPECT_EQ(refused.status, 400);
  EXPECT_EQ(refused.body, "Disallowed CORS origin");
  EXPECT_EQ(refused.header("Access-Control-Allow-Origin"), "");
}

TEST_F(ServerTest, ConcurrencyLimitAnswers429) {
  ServerConfig config;
  config.max_concurrent_requests = 1;
  start(config, endless_replies());
  auto slow = std::async(std::launch::async, [&] { return post("/v1/chat/completions", chat()); });
  wait_until_running();
  HttpResponse rejected = post("/v1/chat/completions", chat());
  EXPECT_EQ(rejected.status, 429) << rejected.body;
  EXPECT_EQ(rejected.json()["error"]["type"], "rate_limit_error");
  EXPECT_EQ(post("/abort_request", {{"abort_all", true}}).json()["aborted"], 1);
  EXPECT_EQ(slow.get().status, 200);
  EXPECT_EQ(post("/v1/chat/completions", chat({{"max_tokens", 1}})).status, 200);  // the slot is free again
}

TEST_F(ServerTest, StreamingClientDisconnectCancelsAndFreesKv) {
  start({}, endless_replies());
  boost::asio::io_context io;
  auto socket = raw_post(io, port_, "/v1/chat/completions", chat({{"stream", true}}).dump());
  char buf[256];
  socket.read_some(boost::asio::buffer(buf));  // the headers and first chunk arrived: it is running
  ASSERT_GT(engine_->stats().kv_blocks_used, 0);
  socket.close();
  EXPECT_TRUE(engine_drains());
}

TEST_F(ServerTest, NonStreamingClientDisconnectCancelsToo) {
  start({}, endless_replies());
  boost::asio::io_context io;
  auto socket = raw_post(io, port_, "/v1/chat/completions", chat().dump());
  wait_until_running();
  socket.close();
  EXPECT_TRUE(engine_drains());
  EXPECT_EQ(get("/v1/models").status, 200);
  // Nothing was sent back: the metrics count it as 499 (client closed request), not as status "0".
  EXPECT_TRUE(metrics_show("route=\"/v1/chat/completions\",status=\"499\"")) << get("/metrics").body;
  EXPECT_EQ(get("/metrics").body.find("status=\"0\""), std::string::npos);
}

// A client that pipelines its next request while waiting for a whole response, then disconnects, is gone too:
// the disconnect watch used to end with the pipelined bytes, so the request ran to its end for nobody.
TEST_F(ServerTest, DisconnectAfterPipeliningCancels) {
  start({}, endless_replies());
  boost::asio::io_context io;
  auto socket = raw_post(io, port_, "/v1/chat/completions", chat().dump());
  wait_until_running();
  boost::asio::write(socket, boost::asio::buffer(std::string("GET /v1/models HTTP/1.1\r\nHost: x\r\n\r\n")));
  std::this_thread::sleep_for(50ms);  // the server has read the pipelined request
  socket.close();
  EXPECT_TRUE(engine_drains());
  EXPECT_EQ(get("/v1/models").status, 200);
}

// The load generator (bench serve) against this server: requests succeed, and a reply the server refuses shows
// its status and message (a plain 400 body used to read as "http: body limit exceeded").
TEST_F(ServerTest, LoadGeneratorRunsAndReportsServerErrors) {
  start();
  LoadSpec spec;
  spec.port = port_;
  spec.model = "fake-model";
  LoadResult ok = run_load(spec, {{"Once upon a time", 4}, {"Hello", 4}});
  ASSERT_EQ(ok.requests.size(), 2u);
  for (const auto& r : ok.requests) EXPECT_TRUE(r.success) << r.error;
  spec.temperature = -1;
  LoadResult refused = run_load(spec, {{"Once upon a time", 4}});
  ASSERT_EQ(refused.requests.size(), 1u);
  EXPECT_FALSE(refused.requests[0].success);
  EXPECT_NE(refused.requests[0].error.find("HTTP 400"), std::string::npos) << refused.requests[0].error;
  EXPECT_NE(refused.requests[0].error.find("temperature"), std::string::npos) << refused.requests[0].error;
}

// Reads everything the server sends until it closes the connection.
std::string read_until_closed(boost::asio::ip::tcp::socket& socket) {
  std::string all;
  char buf[4096];
  boost::system::error_code ec;
  while (!ec) all.append(buf, socket.read_some(boost::asio::buffer(buf), ec));
  return all;
}

// HTTP/1.0 has no chunked encoding: a stream to a 1.0 client is the raw event stream, ended by closing.
TEST_F(ServerTest, StreamToHttp10ClientIsUnchunkedAndCloses) {
  start();
  boost::asio::io_context io;
  boost::asio::ip::tcp::socket socket(io);
  socket.connect({boost::asio::ip::make_address("127.0.0.1"), port_});
  const std::string body = chat({{"stream", true}}).dump();
  const std::string request =
      "POST /v1/chat/completions HTTP/1.0\r\nContent-Type: application/json\r\n"
      "Content-Length: " +
      std::to_string(body.size()) + "\r\n\r\n" + body;
  boost::asio::write(socket, boost::asio::buffer(request));
  const std::string reply = read_until_closed(socket);
  const size_t head_end = reply.find("\r\n\r\n");
  ASSERT_NE(head_end, std::string::npos) << reply;
  const std::string head = reply.substr(0, head_end);
  EXPECT_EQ(head.rfind("HTTP/1.0 200", 0), 0u) << head;
  EXPECT_EQ(head.find("chunked"), std::string::npos) << head;
  const std::vector<std::string> events = sse_payloads(reply.substr(head_end + 4));
  ASSERT_FALSE(events.empty()) << reply;
  EXPECT_EQ(events.back(), "[DONE]");
  std::string text;
  for (size_t i = 0; i + 1 < events.size(); ++i) {
    const nlohmann::json chunk = nlohmann::json::parse(events[i]);  // a chunk size line would not parse
    if (!chunk["choices"].empty()) text += chunk["choices"][0]["delta"].value("content", "");
  }
  EXPECT_EQ(text, kScript);
}

// RFC 9112 2.2: empty lines before a request-line are ignored (a client that ends a body with an extra CRLF and
// pipelines the next request on the same connection).
TEST_F(ServerTest, EmptyLinesBetweenPipelinedRequestsAreIgnored) {
  start();
  boost::asio::io_context io;
  boost::asio::ip::tcp::socket socket(io);
  socket.connect({boost::asio::ip::make_address("127.0.0.1"), port_});
  const std::string body = chat({{"max_tokens", 1}}).dump();
  const std::string requests =
      "\r\nPOST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: " + std::to_string(body.size()) +
      "\r\n\r\n" + body + "\r\n\r\nGET /v1/models HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
  boost::asio::write(socket, boost::asio::buffer(requests));
  const std::string reply = read_until_closed(socket);
  size_t first = reply.find("HTTP/1.1 200"), second = reply.find("HTTP/1.1 200", first + 1);
  EXPECT_NE(first, std::string::npos) << reply;
  EXPECT_NE(second, std::string::npos) << reply;
  EXPECT_NE(reply.find("\"object\":\"list\""), std::string::npos) << reply;
  EXPECT_EQ(reply.find("400"), std::string::npos) << reply;
}

// RFC 9110 8.6: a server must not send Content-Length in a 204 (Beast's prepare_payload wrote "0"); the
// connection stays usable after it. The 204 is a CORS preflight's (without CORS an OPTIONS gets 405).
TEST_F(ServerTest, NoContentResponseHasNoContentLength) {
  ServerConfig config;
  config.allow_origins = {"*"};
  start(config);
  boost::asio::io_context io;
  boost::asio::ip::tcp::socket socket(io);
  socket.connect({boost::asio::ip::make_address("127.0.0.1"), port_});
  const std::string requests =
      "OPTIONS /v1/models HTTP/1.1\r\nHost: x\r\nOrigin: http://ui.example\r\n"
      "Access-Control-Request-Method: GET\r\n\r\n"
      "GET /v1/models HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
  boost::asio::write(socket, boost::asio::buffer(requests));
  const std::string reply = read_until_closed(socket);
  const size_t second = reply.find("HTTP/1.1 200");
  ASSERT_EQ(reply.rfind("HTTP/1.1 204", 0), 0u) << reply;
  ASSERT_NE(second, std::string::npos) << reply;
  const std::string no_content = reply.substr(0, second);
  EXPECT_EQ(no_content.find("Content-Length"), std::string::npos) << no_content;
  EXPECT_EQ(no_content.find("\r\n\r\n"), no_content.size() - 4) << "a 204 has no body: " << no_content;
  EXPECT_NE(reply.find("\"object\":\"list\""), std::string::npos) << reply;
}

// Expect: 100-continue is matched case-insensitively, and never answered to an HTTP/1.0 client, which would read
// the interim "HTTP/1.1 100 Continue" as its response (RFC 9110 10.1.1).
TEST_F(ServerTest, ExpectContinueIsCaseInsensitiveAndHttp11Only) {
  start();
  const std::string body = chat({{"max_tokens", 1}}).dump();
  auto exchange = [&](const std::string& version, const std::string& expectation) {
    boost::asio::io_context io;
    boost::asio::ip::tcp::socket socket(io);
    socket.connect({boost::asio::ip::make_address("127.0.0.1"), port_});
    const std::string head = "POST /v1/chat/completions " + version +
                             "\r\nHost: x\r\nContent-Length: " + std::to_string(body.size()) +
                             "\r\nExpect: " + expectation + "\r\nConnection: close\r\n\r\n";
    boost::asio::write(socket, boost::asio::buffer(head));
    std::this_thread::sleep_for(100ms);  // a client waits a moment for the 100 before it sends the body anyway
    boost::asio::write(socket, boost::asio::buffer(body));
    return read_until_closed(socket);
  };
  EXPECT_EQ(exchange("HTTP/1.1", "100-Continue").rfind("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200", 0), 0u);
  const std::string http10 = exchange("HTTP/1.0", "100-continue");
  EXPECT_EQ(http10.rfind("HTTP/1.0 200", 0), 0u) << http10;
}

TEST_F(ServerTest, AbortRequestBySessionId) {
  start({}, endless_replies());
  auto pending = std::async(std::launch::async, [&] {
    return post("/v1/chat/completions", chat({{"session_id", 5}}));
  });
  wait_until_running();
  EXPECT_EQ(testing::http_request(port_, "POST", "/abort_request", "").status, 400);  // names no session
  EXPECT_EQ(post("/abort_request", {{"session_id", 6}}).json()["aborted"], 0);
  EXPECT_EQ(post("/abort_request", {{"session_id", 5}}).json()["aborted"], 1);
  HttpResponse r = pending.get();
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json()["choices"][0]["finish_reason"], "abort");
  EXPECT_TRUE(engine_drains());
}

TEST_F(ServerTest, GracefulShutdownFinishesInFlightRequests) {
  FakeEngine::Options options;
  options.token_delay = 5ms;
  start({}, options);
  auto pending = std::async(std::launch::async, [&] { return post("/v1/chat/completions", chat({{"stream", true}})); });
  wait_until_running();
  server_->stop();
  HttpResponse r = pending.get();
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(sse_payloads(r.body).back(), "[DONE]");
  thread_.join();  // run() returned
  server_.reset();
  boost::asio::io_context io;
  boost::asio::ip::tcp::socket socket(io);
  boost::system::error_code ec;
  socket.connect({boost::asio::ip::make_address("127.0.0.1"), port_}, ec);
  EXPECT_TRUE(ec) << "the listener is closed";
}

TEST_F(ServerTest, ShutdownAbortsRequestsPastTheGracePeriod) {
  ServerConfig config;
  config.shutdown_grace_s = 0.2;
  start(config, endless_replies());
  auto pending = std::async(std::launch::async, [&] { return post("/v1/chat/completions", chat()); });
  wait_until_running();
  auto begin = std::chrono::steady_clock::now();
  server_->stop();
  HttpResponse r = pending.get();
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.json()["choices"][0]["finish_reason"], "abort");
  thread_.join();
  server_.reset();
  EXPECT_LT(std::chrono::steady_clock::now() - begin, 3s);
}

TEST_F(ServerTest, ManyConcurrentStreams) {
  FakeEngine::Options options;
  options.script = "abcdefghij";
  start({}, options);
  std::vector<std::future<HttpResponse>> clients;
  for (int i = 0; i < 64; ++i) {
    clients.push_back(std::async(std::launch::async, [&] {
      return post("/v1/chat/completions", chat({{"stream", true}}));
    }));
  }
  for (auto& c : clients) {
    HttpResponse r = c.get();
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(sse_payloads(r.body).back(), "[DONE]");
  }
  EXPECT_TRUE(engine_drains());
}

// Out of file descriptors, accept fails until one frees up and the connection stays queued. The server must
// pause between tries (it used to retry at once: a spinning core and some 100,000 log lines a second), then serve
// the queued connection once a descriptor is free.
TEST_F(ServerTest, AcceptFailuresBackOffAndRecover) {
  start();
  const LogLevel saved_level = log_level();
  set_log_level(LogLevel::kWarning);
  rlimit saved_limit{};
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &saved_limit), 0);
  boost::asio::io_context io;
  boost::asio::ip::tcp::socket socket(io);
  socket.open(boost::asio::ip::tcp::v4());  // its descriptor exists before the table fills up
  int highest = 0;
  for (const auto& entry : std::filesystem::directory_iterator("/proc/self/fd")) {
    highest = std::max(highest, std::stoi(entry.path().filename().string()));
  }
  ::testing::internal::CaptureStderr();
  rlimit low = saved_limit;
  low.rlim_cur = static_cast<rlim_t>(highest) + 8;
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &low), 0);
  std::vector<int> fillers;
  for (int fd; (fd = ::dup(socket.native_handle())) >= 0;) fillers.push_back(fd);
  socket.connect({boost::asio::ip::make_address("127.0.0.1"), port_});  // queued: the server cannot accept it
  std::this_thread::sleep_for(300ms);
  for (int fd : fillers) ::close(fd);
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &saved_limit), 0);

  const std::string request = "GET /v1/models HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
  boost::asio::write(socket, boost::asio::buffer(request));
  const std::string reply = read_until_closed(socket);
  const std::string log = ::testing::internal::GetCapturedStderr();
  set_log_level(saved_level);
  EXPECT_EQ(reply.rfind("HTTP/1.1 200", 0), 0u) << reply;
  size_t failures = 0;
  for (size_t at = log.find("accept failed"); at != std::string::npos; at = log.find("accept failed", at + 1)) {
    ++failures;
  }
  EXPECT_GE(failures, 1u);
  EXPECT_LE(failures, 20u) << "accept is retried without a pause";
}

// Without CORS an OPTIONS request is no preflight: it gets what uvicorn without CORS middleware answers, 405 with
// the methods the path supports (RFC 9110 15.5.6: every 405 names them in Allow). It used to be a blanket 204.
TEST_F(ServerTest, OptionsWithoutCorsIsMethodNotAllowed) {
  start();
  HttpResponse chat = testing::http_request(port_, "OPTIONS", "/v1/chat/completions");
  EXPECT_EQ(chat.status, 405) << chat.body;
  EXPECT_EQ(chat.header("Allow"), "POST");
  EXPECT_EQ(chat.json()["error"]["code"], "method_not_allowed");
  EXPECT_EQ(testing::http_request(port_, "OPTIONS", "/v1/models").header("Allow"), "GET, HEAD");
  EXPECT_EQ(testing::http_request(port_, "OPTIONS", "/v1/nothing").status, 404);
  HttpResponse wrong_method = get("/v1/chat/completions");
  EXPECT_EQ(wrong_method.status, 405);
  EXPECT_EQ(wrong_method.header("Allow"), "POST");
}

// With API keys, an OPTIONS without a key still learns the allowed methods (no route runs for it), as vLLM's auth
// middleware lets OPTIONS through; other methods still need the key.
TEST_F(ServerTest, OptionsNeedsNoApiKey) {
  ServerConfig config;
  config.api_keys = {"secret"};
  start(config);
  HttpResponse options = testing::http_request(port_, "OPTIONS", "/v1/chat/completions");
  EXPECT_EQ(options.status, 405) << options.body;
  EXPECT_EQ(options.header("Allow"), "POST");
  EXPECT_EQ(get("/v1/chat/completions").status, 401);
}

// With CORS on, a preflight (Origin + Access-Control-Request-Method) keeps its 204; any other OPTIONS is routed.
TEST_F(ServerTest, OptionsWithCorsAnswersOnlyPreflights) {
  ServerConfig config;
  config.allow_origins = {"*"};
  start(config);
  HttpResponse preflight = testing::http_request(
      port_, "OPTIONS", "/v1/models", "", {{"Origin", "http://ui.example"}, {"Access-Control-Request-Method", "GET"}});
  EXPECT_EQ(preflight.status, 204);
  EXPECT_EQ(preflight.header("Access-Control-Allow-Origin"), "*");
  EXPECT_NE(preflight.header("Access-Control-Allow-Methods"), "");
  HttpResponse plain = testing::http_request(port_, "OPTIONS", "/v1/models", "", {{"Origin", "http://ui.example"}});
  EXPECT_EQ(plain.status, 405) << plain.body;
  EXPECT_EQ(plain.header("Allow"), "GET, HEAD");
  EXPECT_EQ(plain.header("Access-Control-Allow-Origin"), "*");
}

// A compressed request body used to be read as plain JSON ("invalid_json"). Content codings are refused with 415
// naming the coding and Accept-Encoding: identity (RFC 9110 15.5.16); identity itself is fine.
TEST_F(ServerTest, RequestContentCodingsAreRefused) {
  start();
  HttpResponse gzip = post("/v1/chat/completions", chat(), {{"Content-Encoding", "gzip"}});
  EXPECT_EQ(gzip.status, 415) << gzip.body;
  EXPECT_EQ(gzip.json()["error"]["type"], "invalid_request_error");
  EXPECT_EQ(gzip.json()["error"]["code"], "unsupported_media_type");
  EXPECT_NE(gzip.json()["error"]["message"].get<std::string>().find("'gzip'"), std::string::npos) << gzip.body;
  EXPECT_EQ(gzip.header("Accept-Encoding"), "identity");
  EXPECT_EQ(post("/v1/chat/completions", chat(), {{"Content-Encoding", "identity, BR"}}).status, 415);
  EXPECT_EQ(post("/v1/chat/completions", chat({{"max_tokens", 1}}), {{"Content-Encoding", "Identity"}}).status, 200);
}

// Beast decodes only the chunked transfer coding: "gzip, chunked" reached the handler still compressed, and a
// lone "gzip" left the body unframed (read as the next request). RFC 9112 6.1: a coding the server does not
// implement gets 501; 6.3: a request whose final coding is not chunked has no knowable length, 400 and close.
TEST_F(ServerTest, TransferCodingsOtherThanChunkedAreRefused) {
  start();
  // Without "Connection: close" a wrongly accepted request leaves the rest of its body to be read as the next one.
  auto send = [&](const std::string& codings, bool close = false, const std::string& version = "1.1") {
    boost::asio::io_context io;
    boost::asio::ip::tcp::socket socket(io);
    socket.connect({boost::asio::ip::make_address("127.0.0.1"), port_});
    const std::string request = "POST /v1/chat/completions HTTP/" + version + "\r\nHost: x\r\n" +
                                std::string(close ? "Connection: close\r\n" : "") + "Transfer-Encoding: " + codings +
                                "\r\n\r\n5\r\nhello\r\n0\r\n\r\n";
    boost::asio::write(socket, boost::asio::buffer(request));
    return read_until_closed(socket);
  };
  const std::string compressed = send("gzip, chunked", true);
  EXPECT_EQ(compressed.rfind("HTTP/1.1 501", 0), 0u) << compressed;
  EXPECT_NE(compressed.find("'gzip'"), std::string::npos) << compressed;
  EXPECT_NE(compressed.find("Connection: close"), std::string::npos) << compressed;
  const std::string unframed = send("gzip");
  EXPECT_EQ(unframed.rfind("HTTP/1.1 400", 0), 0u) << unframed;
  EXPECT_EQ(unframed.find("HTTP/1.1", 1), std::string::npos) << "one response, then close: " << unframed;
  const std::string twice = send("chunked, chunked");
  EXPECT_EQ(twice.rfind("HTTP/1.1 400", 0), 0u) << twice;
  EXPECT_EQ(twice.find("HTTP/1.1", 1), std::string::npos) << "one response, then close: " << twice;
  // RFC 9112 6.1: HTTP/1.0 has no transfer codings, its framing is faulty even for chunked.
  const std::string http10 = send("chunked", false, "1.0");
  EXPECT_EQ(http10.rfind("HTTP/1.1 400", 0), 0u) << http10;
  EXPECT_NE(http10.find("HTTP/1.0 message"), std::string::npos) << http10;
  EXPECT_EQ(http10.find("HTTP/1.1", 1), std::string::npos) << "one response, then close: " << http10;
  // Still fine: chunked alone (any case), as Beast decodes it.
  const std::string body = chat({{"max_tokens", 1}}).dump();
  boost::asio::io_context io;
  boost::asio::ip::tcp::socket socket(io);
  socket.connect({boost::asio::ip::make_address("127.0.0.1"), port_});
  std::stringstream request;
  request << "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nConnection: close\r\nTransfer-Encoding: Chunked\r\n\r\n"
          << std::hex << body.size() << "\r\n"
          << body << "\r\n0\r\n\r\n";
  boost::asio::write(socket, boost::asio::buffer(request.str()));
  const std::string chunked = read_until_closed(socket);
  EXPECT_EQ(chunked.rfind("HTTP/1.1 200", 0), 0u) << chunked;
}

// Over-long request heads used to get 413 (Content Too Large), which names the body. A request target over 16 KiB
// gets 414 (RFC 9110 15.5.15), other header fields over the 64 KiB head limit 431 (RFC 6585 5); 413 stays for
// bodies over --max-request-bytes (ErrorClasses).
TEST_F(ServerTest, OverlongTargetsAndHeadersGet414And431) {
  start();
  auto expect_error = [](const HttpResponse& r, int status, const char* code) {
    EXPECT_EQ(r.status, status) << r.body;
    EXPECT_EQ(r.json()["error"]["code"], code) << r.body;
  };
  EXPECT_EQ(get("/v1/models?pad=" + std::string(8 * 1024, 'x')).status, 200);
  expect_error(get("/v1/models?pad=" + std::string(20 * 1024, 'x')), 414, "uri_too_long");
  // Beast's client sends no field over 64 KiB: two of 40 KiB pass the head limit.
  const std::string pad(40 * 1024, 'x');
  expect_error(get("/v1/models", {{"X-Pad-1", pad}, {"X-Pad-2", pad}}), 431, "request_header_fields_too_large");
  // A request line longer than the whole head limit, sent raw: Beast's client refuses a target that long.
  boost::asio::io_context io;
  boost::asio::ip::tcp::socket socket(io);
  socket.connect({boost::asio::ip::make_address("127.0.0.1"), port_});
  const std::string request = "GET /v1/models?pad=" + std::string(100 * 1024, 'x') + " HTTP/1.1\r\nHost: x\r\n\r\n";
  boost::asio::write(socket, boost::asio::buffer(request));
  const std::string reply = read_until_closed(socket);
  EXPECT_EQ(reply.rfind("HTTP/1.1 414", 0), 0u) << reply;
  EXPECT_NE(reply.find("\"uri_too_long\""), std::string::npos) << reply;
  // A long target with headers that together pass the head limit is still the target's fault.
  expect_error(get("/v1/models?pad=" + std::string(20 * 1024, 'x'), {{"X-Pad-1", pad}, {"X-Pad-2", pad}}), 414,
               "uri_too_long");
  EXPECT_EQ(get("/v1/models").status, 200);
}

// OpenAI's "retrieve model": the same object as the /v1/models entry, or the 404 model_not_found of a request naming
// another model.
TEST_F(ServerTest, RetrievesOneModel) {
  start();
  HttpResponse list = get("/v1/models");
  HttpResponse one = get("/v1/models/fake-model");
  ASSERT_EQ(one.status, 200) << one.body;
  EXPECT_EQ(one.json(), list.json()["data"][0]);
  EXPECT_EQ(one.header("Content-Type"), "application/json");
  HttpResponse head = testing::http_request(port_, "HEAD", "/v1/models/fake-model");
  EXPECT_EQ(head.status, 200);
  EXPECT_EQ(head.header("Content-Length"), std::to_string(one.body.size()));
  HttpResponse unknown = get("/v1/models/gpt-4");
  EXPECT_EQ(unknown.status, 404);
  EXPECT_EQ(unknown.json()["error"]["message"], "The model `gpt-4` does not exist; this server serves `fake-model`.");
  EXPECT_EQ(unknown.json()["error"]["type"], "invalid_request_error");
  EXPECT_EQ(unknown.json()["error"]["param"], "model");
  EXPECT_EQ(unknown.json()["error"]["code"], "model_not_found");
  EXPECT_EQ(get("/v1/models/").status, 404);
  HttpResponse post_one = testing::http_request(port_, "POST", "/v1/models/fake-model");
  EXPECT_EQ(post_one.status, 405);
  EXPECT_EQ(post_one.header("Allow"), "GET, HEAD");
  // One metrics route for every id, not a label per id.
  EXPECT_TRUE(metrics_show("route=\"/v1/models/{model}\",status=\"404\"")) << get("/metrics").body;
  EXPECT_EQ(get("/metrics").body.find("gpt-4"), std::string::npos);
}

// Served names often carry the organisation ("Qwen/Qwen3-8B"): the id is the rest of the path, raw or
// percent-encoded as some clients send it.
TEST_F(ServerTest, RetrievesAModelNamedWithASlash) {
  ServerConfig config;
  config.model_name = "org/fake-model";
  start(config);
  HttpResponse raw = get("/v1/models/org/fake-model");
  ASSERT_EQ(raw.status, 200) << raw.body;
  EXPECT_EQ(raw.json()["id"], "org/fake-model");
  EXPECT_EQ(get("/v1/models/org%2Ffake-model?x=1").status, 200);
  EXPECT_EQ(get("/v1/models/org%2ffake-model").status, 200);
  EXPECT_EQ(get("/v1/models/org").status, 404);
  // Decoded bytes that are no UTF-8 (or NUL) are echoed in the error: it stays valid JSON.
  for (const char* id : {"%FF%FE", "a%00b", "%", "%4"}) {
    HttpResponse bad = get(std::string("/v1/models/") + id);
    EXPECT_EQ(bad.status, 404) << id;
    EXPECT_EQ(bad.json()["error"]["code"], "model_not_found") << id << ": " << bad.body;
  }
}

TEST_F(ServerTest, RetrieveModelNeedsTheApiKey) {
  ServerConfig config;
  config.api_keys = {"secret"};
  start(config);
  EXPECT_EQ(get("/v1/models/fake-model").status, 401);
  EXPECT_EQ(get("/v1/models/gpt-4").status, 401);  // no hint of which models exist without a key
  EXPECT_EQ(get("/v1/models/fake-model", {{"Authorization", "Bearer secret"}}).status, 200);
}

}  // namespace
}  // namespace turbolm::server
