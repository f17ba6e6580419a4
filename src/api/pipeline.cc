#include "turbolm/pipeline.h"

#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "tokenizer/unicode.h"

namespace turbolm {
namespace {

Request text_request(const std::string& prompt, const GenerationConfig& gen, PromptStyle style) {
  Request r;
  r.gen = gen;
  if (style == PromptStyle::kChat) {
    r.messages_json = messages_to_json({{"user", prompt}});
  } else {
    r.prompt = prompt;
  }
  return r;
}

Request messages_request(const std::vector<ChatMessage>& messages, const GenerationConfig& gen) {
  Request r;
  r.gen = gen;
  r.messages_json = messages_to_json(messages);
  return r;
}

void append(Response& response, const GenerationOutput& chunk) {
  response.index = chunk.index;
  response.text += chunk.text;
  response.token_ids.insert(response.token_ids.end(), chunk.token_ids.begin(), chunk.token_ids.end());
  response.logprobs.insert(response.logprobs.end(), chunk.logprobs.begin(), chunk.logprobs.end());
  response.input_tokens = chunk.input_tokens;
  response.output_tokens = chunk.output_tokens;
  response.cached_tokens = chunk.cached_tokens;
  if (chunk.finish_reason != FinishReason::kNone) {
    response.finish_reason = chunk.finish_reason;
    response.error = chunk.error;
  }
}

}  // namespace

std::string messages_to_json(const std::vector<ChatMessage>& messages) {
  nlohmann::json j = nlohmann::json::array();
  for (const ChatMessage& m : messages) {
    // Checked before dump() would throw, whose text ("[json.exception.type_error.316] invalid UTF-8 byte ...") is
    // the library's, not a message for the user who typed the input.
    TLM_CHECK_ARG(unicode::is_valid_utf8(m.role)) << "a chat message's role is not valid UTF-8";
    TLM_CHECK_ARG(unicode::is_valid_utf8(m.content)) << "the " << m.role << " message is not valid UTF-8";
    j.push_back({{"role", m.role}, {"content", m.content}});
  }
  return j.dump();
}

Pipeline::Pipeline(const std::string& model_dir, const EngineConfig& config)
    : engine_(Engine::create(model_dir, config)) {}

Pipeline::Pipeline(std::unique_ptr<Engine> engine) : engine_(std::move(engine)) { TLM_CHECK(engine_ != nullptr); }

Pipeline::~Pipeline() = default;

std::vector<Response> Pipeline::run(std::vector<Request> requests, const StreamCallback& on_output,
                                    std::stop_token stop) {
  // Chunks travel from the engine thread to this one, so on_output may take its time.
  struct Queue {
    std::mutex mutex;
    std::condition_variable ready;
    std::deque<std::pair<int, GenerationOutput>> chunks;
  };
  auto queue = std::make_shared<Queue>();

  // Validate everything before submitting anything: a bad prompt must not leave the others running.
  std::vector<int> offset(requests.size() + 1, 0);
  for (size_t i = 0; i < requests.size(); ++i) {
    requests[i].prompt_ids = engine_->prompt_ids(requests[i]);
    offset[i + 1] = offset[i] + requests[i].gen.n;
  }
  std::vector<Response> responses(offset.back());
  std::vector<std::shared_ptr<RequestHandle>> handles;
  try {
    for (size_t i = 0; i < requests.size(); ++i) {
      int index = static_cast<int>(i);
      handles.push_back(engine_->submit(std::move(requests[i]), [queue, index](const GenerationOutput& chunk) {
        std::lock_guard lock(queue->mutex);
        queue->chunks.emplace_back(index, chunk);
        queue->ready.notify_one();
      }));
    }
  } catch (...) {
    for (auto& h : handles) h->cancel();
    throw;
  }

  int unfinished = offset.back();
  bool cancelled = false;
  while (unfinished > 0) {
    std::deque<std::pair<int, GenerationOutput>> batch;
    {
      std::unique_lock lock(queue->mutex);
      queue->ready.wait_for(lock, std::chrono::milliseconds(20), [&] { return !queue->chunks.empty(); });
      batch.swap(queue->chunks);
    }
    if (stop.stop_requested() && !cancelled) {
      for (auto& h : handles) h->cancel();
      cancelled = true;
    }
    for (auto& [index, chunk] : batch) {
      append(responses[offset[index] + chunk.index], chunk);
      if (chunk.finish_reason != FinishReason::kNone) --unfinished;
      if (!on_output) continue;
      try {
        on_output(index, chunk);
      } catch (...) {  // the caller leaves with the exception: its requests must not go on generating
        for (auto& h : handles) h->cancel();
        throw;
      }
    }
  }
  return responses;
}

std::vector<Response> Pipeline::operator()(const std::vector<std::string>& prompts, const GenerationConfig& gen,
                                           PromptStyle style) {
  std::vector<Request> requests;
  for (const std::string& p : prompts) requests.push_back(text_request(p, gen, style));
  return run(std::move(requests));
}

Response Pipeline::run_one(const std::string& prompt, const GenerationConfig& gen, PromptStyle style) {
  return run({text_request(prompt, gen, style)}).front();
}

std::vector<Response> Pipeline::operator()(const std::vector<std::vector<ChatMessage>>& conversations,
                                           const GenerationConfig& gen) {
  std::vector<Request> requests;
  for (const auto& c : conversations) requests.push_back(messages_request(c, gen));
  return run(std::move(requests));
}

std::vector<Response> Pipeline::generate(const std::vector<std::vector<int32_t>>& prompt_ids,
                                         const GenerationConfig& gen) {
  std::vector<Request> requests;
  for (const auto& ids : prompt_ids) {
    Request& r = requests.emplace_back();
    r.prompt_ids = ids;
    r.gen = gen;
  }
  return run(std::move(requests));
}

void Pipeline::stream_infer(const std::vector<std::string>& prompts, const GenerationConfig& gen,
                            const StreamCallback& on_output, PromptStyle style, std::stop_token stop) {
  std::vector<Request> requests;
  for (const std::string& p : prompts) requests.push_back(text_request(p, gen, style));
  run(std::move(requests), on_output, stop);
}

void Pipeline::stream_infer(const std::vector<std::vector<ChatMessage>>& conversations, const GenerationConfig& gen,
                            const StreamCallback& on_output, std::stop_token stop) {
  std::vector<Request> requests;
  for (const auto& c : conversations) requests.push_back(messages_request(c, gen));
  run(std::move(requests), on_output, stop);
}

Response Pipeline::chat(ChatSession& session, const std::string& user_text, const GenerationConfig& gen,
                        const std::function<void(const GenerationOutput&)>& on_output, std::stop_token stop) {
  std::vector<ChatMessage> messages = session.history;
  messages.push_back({"user", user_text});
  StreamCallback stream;
  if (on_output) {
    stream = [&](int, const GenerationOutput& chunk) {
      if (chunk.index == 0) on_output(chunk);
    };
  }
  Response reply = run({messages_request(messages, gen)}, stream, stop).front();
  session.history = std::move(messages);
  session.history.push_back({"assistant", reply.text});
  return reply;
}

}  // namespace turbolm
