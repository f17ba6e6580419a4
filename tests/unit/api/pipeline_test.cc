// Pipeline over the real tiny model (shared/models/stories260K-hf; no chat template of its own, so chat turns use
// the built-in chatml fallback).
#include "turbolm/pipeline.h"

#include <gtest/gtest.h>

#include <chrono>
#include <limits>
#include <stdexcept>
#include <thread>

#include "turbolm/error.h"

namespace turbolm {
namespace {

const std::string kModel = std::string(TURBOLM_SHARED_DIR) + "/models/stories260K-hf";

EngineConfig small_config() {
  EngineConfig c;
  c.cache_max_entry_count = 256;
  c.cache_block_seq_len = 16;
  c.num_threads = 1;
  return c;
}

GenerationConfig greedy(int max_new) {
  GenerationConfig g;
  g.max_new_tokens = max_new;
  return g;
}

TEST(Pipeline, BatchCallMatchesSingleCallsAndStreaming) {
  Pipeline pipe(kModel, small_config());
  const std::vector<std::string> prompts = {"Once upon a time", "Lily and Tom went to the park", "The cat"};
  std::vector<Response> batch = pipe(prompts, greedy(30), PromptStyle::kRaw);
  ASSERT_EQ(batch.size(), 3u);
  for (size_t i = 0; i < prompts.size(); ++i) {
    Response single = pipe(prompts[i], greedy(30), PromptStyle::kRaw);
    EXPECT_EQ(single.token_ids, batch[i].token_ids);
    EXPECT_EQ(single.text, batch[i].text);
    EXPECT_FALSE(single.text.empty());
    EXPECT_NE(single.finish_reason, FinishReason::kNone);
    EXPECT_EQ(single.output_tokens, static_cast<int>(single.token_ids.size()));
    EXPECT_GT(single.input_tokens, 0);
  }
  std::vector<std::string> streamed(3);
  std::vector<int> finals(3, 0);
  pipe.stream_infer(
      prompts, greedy(30),
      [&](int i, const GenerationOutput& chunk) {
        streamed[i] += chunk.text;
        if (chunk.finish_reason != FinishReason::kNone) ++finals[i];
      },
      PromptStyle::kRaw);
  for (size_t i = 0; i < prompts.size(); ++i) {
    EXPECT_EQ(streamed[i], batch[i].text);
    EXPECT_EQ(finals[i], 1);
  }
}

TEST(Pipeline, NCompletionsPerPrompt) {
  Pipeline pipe(kModel, small_config());
  GenerationConfig g = greedy(12);
  g.n = 2;
  g.do_sample = true;
  g.random_seed = 3;
  std::vector<Response> out = pipe({"Once upon a time", "The dog"}, g, PromptStyle::kRaw);
  ASSERT_EQ(out.size(), 4u);
  for (size_t i = 0; i < out.size(); ++i) EXPECT_EQ(out[i].index, static_cast<int>(i % 2));
}

// The calls as docs/pipeline.md writes them compile and mean what they say: a braced list of string literals is
// a batch of prompts (it used to be ambiguous with the conversation-list overload), a braced conversation list is
// conversations.
TEST(Pipeline, BracedPromptListsAreBatches) {
  Pipeline pipe(kModel, small_config());
  std::vector<Response> out = pipe({"Once upon a time", "The dog"});
  ASSERT_EQ(out.size(), 2u);
  int chunks = 0;
  pipe.stream_infer({"Tell me a joke", "Tell me a poem"}, greedy(4),
                    [&](int prompt_index, const GenerationOutput&) { chunks += prompt_index >= 0 ? 1 : 0; });
  EXPECT_GT(chunks, 0);
  std::vector<ChatMessage> conversation = {{"system", "You are terse."}, {"user", "2 + 2?"}};
  EXPECT_EQ(pipe(std::vector<std::vector<ChatMessage>>{conversation}, greedy(4)).size(), 1u);
  EXPECT_EQ(pipe({conversation, conversation}, greedy(4)).size(), 2u);
}

TEST(Pipeline, ChatKeepsHistoryAndReusesItsPrefix) {
  Pipeline pipe(kModel, small_config());
  ChatSession session;
  std::string streamed;
  Response first = pipe.chat(session, "Tell me a story about a dog.", greedy(40),
                             [&](const GenerationOutput& c) { streamed += c.text; });
  EXPECT_EQ(streamed, first.text);
  ASSERT_EQ(session.history.size(), 2u);
  EXPECT_EQ(session.history[1].role, "assistant");
  EXPECT_EQ(session.history[1].content, first.text);
  Response second = pipe.chat(session, "And then?", greedy(20));
  EXPECT_EQ(session.history.size(), 4u);
  EXPECT_GT(second.input_tokens, first.input_tokens + first.output_tokens - 4);
  // The re-rendered first turn comes from the prefix cache.
  EXPECT_GE(second.cached_tokens, 16);
  session.reset();
  EXPECT_TRUE(session.history.empty());
}

TEST(Pipeline, ChatTurnThatIsNotUtf8IsRefusedAndTheSessionGoesOn) {
  Pipeline pipe(kModel, small_config());
  ChatSession session;
  try {
    pipe.chat(session, "caf\xe9", greedy(4));
    ADD_FAILURE() << "accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument);
    EXPECT_STREQ(e.what(), "the user message is not valid UTF-8");  // not "[json.exception.type_error.316] ..."
  }
  EXPECT_TRUE(session.history.empty());
  pipe.chat(session, "caf\xc3\xa9", greedy(4));
  EXPECT_EQ(session.history.size(), 2u);
}

TEST(Pipeline, StopTokenCancelsEverything) {
  Pipeline pipe(kModel, small_config());
  std::stop_source stop;
  stop.request_stop();
  GenerationConfig g = greedy(400);
  g.ignore_eos = true;
  int finals = 0;
  pipe.stream_infer(
      {"Once upon a time", "The cat"}, g,
      [&](int, const GenerationOutput& c) {
        if (c.finish_reason != FinishReason::kNone) {
          EXPECT_EQ(c.finish_reason, FinishReason::kAbort);
          ++finals;
        }
      },
      PromptStyle::kRaw, stop.get_token());
  EXPECT_EQ(finals, 2);
}

TEST(Pipeline, InvalidPromptThrowsBeforeAnythingRuns) {
  Pipeline pipe(kModel, small_config());
  std::vector<std::string> prompts = {"fine", std::string(6000, 'a')};
  EXPECT_THROW(pipe(prompts, greedy(4), PromptStyle::kRaw), Error);
  EXPECT_EQ(pipe.engine().stats().waiting + pipe.engine().stats().running, 0);
}

// Found by an outside audit of the API: each of these ran (or threw another exception type) instead of throwing
// turbolm::Error before anything was submitted.
TEST(Pipeline, EmptyPromptsBadNAndBadUtf8AreErrors) {
  Pipeline pipe(kModel, small_config());
  auto expect_rejected = [&](auto&& call, const std::string& part) {
    try {
      call();
      ADD_FAILURE() << "accepted; expected an error containing '" << part << "'";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(part), std::string::npos) << e.what();
    }
    EXPECT_EQ(pipe.engine().stats().prompt_tokens_total, 0) << "something ran";
  };
  expect_rejected([&] { pipe.generate({{}}, greedy(4)); }, "the prompt is empty");
  expect_rejected([&] { pipe.run({Request{}}); }, "the prompt is empty");
  expect_rejected([&] { pipe(std::vector<std::vector<ChatMessage>>{{}}, greedy(4)); }, "messages must be a non-empty");
  for (int n : {-1, 1025, std::numeric_limits<int>::max()}) {
    GenerationConfig g = greedy(4);
    g.n = n;
    expect_rejected([&] { pipe({"a", "b"}, g, PromptStyle::kRaw); }, "n must be in [1, 1024]");
  }
  // The message is ours, not nlohmann's "[json.exception.type_error.316] ...".
  expect_rejected([&] { pipe(std::string("caf\xe9"), greedy(4)); }, "the user message is not valid UTF-8");
  // Per-request settings: the bad second request is caught before the first is submitted.
  Request good, bad;
  good.prompt = "Once";
  good.gen = greedy(4);
  bad.prompt = "Once";
  bad.gen = greedy(4);
  bad.gen.temperature = -1;
  expect_rejected([&] { pipe.run({good, bad}); }, "temperature");
  bad.gen.temperature = 0;
  bad.gen.stop_token_ids = {1 << 30};
  expect_rejected([&] { pipe.run({good, bad}); }, "stop token id 1073741824 is outside the vocabulary");
  // Nothing was submitted by any rejected call: a request submitted and cancelled would also count as finished.
  // The engine counts a request after its last output is delivered: wait for this run's count, then give a
  // second one time to show (it can only appear if a rejected call submitted something).
  pipe.run({good});
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (pipe.engine().stats().requests_finished < 1 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_EQ(pipe.engine().stats().requests_finished, 1);
}

// A streaming callback that throws ends the call with its exception and cancels what was still generating.
TEST(Pipeline, ThrowingStreamCallbackCancelsTheRequests) {
  Pipeline pipe(kModel, small_config());
  GenerationConfig g = greedy(200);
  g.ignore_eos = true;
  EXPECT_THROW(pipe.stream_infer(
                   {"Once", "The dog"}, g, [](int, const GenerationOutput&) { throw std::runtime_error("boom"); },
                   PromptStyle::kRaw),
               std::runtime_error);
  for (int i = 0; i < 500 && pipe.engine().stats().running + pipe.engine().stats().waiting > 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  const EngineStats stats = pipe.engine().stats();
  EXPECT_EQ(stats.running + stats.waiting, 0);
  EXPECT_LT(stats.generation_tokens_total, 2 * 200) << "the requests ran to their end";
}

}  // namespace
}  // namespace turbolm
