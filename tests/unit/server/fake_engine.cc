#include "fake_engine.h"

#include <nlohmann/json.hpp>

#include "core/error.h"

namespace turbolm::server::testing {

struct FakeEngine::Active {
  uint64_t id;
  Request request;
  OutputCallback callback;
  int input_tokens = 0;
  std::vector<int> produced;  // per completion: script characters emitted
  std::vector<std::string> text;
  std::vector<bool> done;
  bool cancelled = false;
};

class FakeEngine::Handle : public RequestHandle {
 public:
  Handle(FakeEngine& engine, uint64_t id) : engine_(engine), id_(id) {}
  uint64_t id() const override { return id_; }
  void cancel() override { engine_.cancel(id_); }

 private:
  FakeEngine& engine_;
  uint64_t id_;
};

FakeEngine::FakeEngine(Options options) : options_(std::move(options)) {
  info_.model_name = "fake-model";
  info_.model_dir = "/models/fake-model";
  info_.architecture = "FakeForCausalLM";
  info_.session_len = options_.session_len;
  info_.vocab_size = kVocab;
  info_.eos_token_ids = {kEos};
  info_.device = "cpu";
  info_.has_tokenizer = true;  // byte-level
  config_.model_name = info_.model_name;
  thread_ = std::thread([this] { loop(); });
}

FakeEngine::~FakeEngine() {
  std::vector<std::shared_ptr<Active>> left;
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
    for (auto& [id, a] : active_) left.push_back(a);
    active_.clear();
  }
  cv_.notify_all();
  thread_.join();
  for (auto& a : left) {
    for (size_t i = 0; i < a->done.size(); ++i) {
      if (a->done[i]) continue;
      GenerationOutput out;
      out.index = static_cast<int>(i);
      out.finish_reason = FinishReason::kAbort;
      a->callback(out);
    }
  }
}

std::vector<int32_t> FakeEngine::encode(std::string_view text, bool add_special_tokens) const {
  std::vector<int32_t> ids;
  if (add_special_tokens) ids.push_back(kBos);
  for (unsigned char c : text) ids.push_back(c + 3);
  return ids;
}

std::string FakeEngine::decode(const std::vector<int32_t>& ids, bool skip_special_tokens) const {
  std::string text;
  for (int32_t id : ids) {
    if (id >= 3) {
      text += static_cast<char>(id - 3);
    } else if (!skip_special_tokens) {
      text += id == kBos ? "<s>" : id == kEos ? "</s>" : "<pad>";
    }
  }
  return text;
}

std::vector<int32_t> FakeEngine::prompt_ids(const Request& r) const {
  std::vector<int32_t> ids;
  if (!r.prompt_ids.empty()) {
    ids = r.prompt_ids;
    for (int32_t id : ids) TLM_CHECK_ARG(id >= 0 && id < kVocab) << "token id " << id << " is out of the vocabulary";
  } else if (!r.messages_json.empty()) {
    std::string text;
    for (const auto& m : nlohmann::json::parse(r.messages_json)) {
      text += m.value("role", "") + ": " + (m["content"].is_string() ? m["content"].get<std::string>() : "") + "\n";
    }
    if (r.add_generation_prompt) text += "assistant: ";
    ids = encode(text, true);
  } else {
    ids = encode(r.prompt, r.add_special_tokens);
  }
  TLM_CHECK_ARG(!ids.empty()) << "the prompt is empty";
  TLM_CHECK_ARG(static_cast<int64_t>(ids.size()) < options_.session_len)
      << "the prompt has " << ids.size() << " tokens, more than session_len " << options_.session_len << " allows";
  return ids;
}

std::shared_ptr<RequestHandle> FakeEngine::submit(Request request, OutputCallback on_output) {
  auto active = std::make_shared<Active>();
  active->input_tokens = static_cast<int>(prompt_ids(request).size());
  int n = request.gen.n;
  active->produced.assign(n, 0);
  active->text.assign(n, "");
  active->done.assign(n, false);
  active->callback = std::move(on_output);
  active->request = std::move(request);
  std::lock_guard lock(mutex_);
  last_request_ = active->request;
  active->id = next_id_++;
  active_[active->id] = active;
  ++submitted_;
  cv_.notify_all();
  return std::make_shared<Handle>(*this, active->id);
}

std::shared_ptr<RequestHandle> FakeEngine::submit_scoring(std::vector<int32_t> context,
                                                          std::vector<int32_t> continuation, int top_logprobs,
                                                          OutputCallback on_output) {
  TLM_CHECK_ARG(!context.empty() && !continuation.empty()) << "nothing to score";
  for (const auto* ids : {&context, &continuation}) {
    for (int32_t id : *ids) TLM_CHECK_ARG(id >= 0 && id < kVocab) << "token id " << id << " is out of the vocabulary";
  }
  const size_t total = context.size() + continuation.size();
  TLM_CHECK_ARG(static_cast<int64_t>(total) <= options_.session_len)
      << "context + continuation (" << total << " tokens) exceed session_len";
  GenerationOutput out;
  out.input_tokens = static_cast<int>(context.size());
  out.output_tokens = static_cast<int>(continuation.size());
  for (int32_t token : continuation) {
    TokenLogprob lp{token, fake_logprob(token), {}, {}, {}};
    for (int k = 0; k < top_logprobs; ++k) {
      const int32_t id = (token + k) % kVocab;
      lp.top.emplace_back(id, k == 0 ? lp.logprob : lp.logprob - static_cast<float>(k));
    }
    out.logprobs.push_back(std::move(lp));
  }
  out.token_ids = std::move(continuation);
  out.finish_reason = FinishReason::kLength;
  uint64_t id;
  {
    std::lock_guard lock(mutex_);
    id = next_id_++;
    ++submitted_;
    ++finished_;
  }
  on_output(out);
  return std::make_shared<Handle>(*this, id);
}

Request FakeEngine::last_request() const {
  std::lock_guard lock(mutex_);
  return last_request_;
}

void FakeEngine::cancel(uint64_t id) {
  std::lock_guard lock(mutex_);
  auto it = active_.find(id);
  if (it != active_.end()) it->second->cancelled = true;  // blocks are freed at once: stats() skips it
  cv_.notify_all();
}

EngineStats FakeEngine::stats() const {
  std::lock_guard lock(mutex_);
  EngineStats s;
  s.kv_blocks_total = options_.blocks_total;
  s.kv_block_size = options_.block_size;
  s.requests_finished = finished_;
  for (const auto& [id, a] : active_) {
    if (a->cancelled) continue;
    ++s.running;
    int64_t tokens = a->input_tokens;
    for (int p : a->produced) tokens += p;
    s.kv_blocks_used += (tokens + options_.block_size - 1) / options_.block_size;
  }
  return s;
}

void FakeEngine::loop() {
  std::unique_lock lock(mutex_);
  while (!stop_) {
    cv_.wait_for(lock, options_.token_delay, [this] { return stop_; });
    if (stop_) break;
    std::vector<std::pair<std::shared_ptr<Active>, std::vector<GenerationOutput>>> emit;
    for (auto it = active_.begin(); it != active_.end();) {
      Active& a = *it->second;
      std::vector<GenerationOutput> outs;
      bool all_done = true;
      for (size_t i = 0; i < a.done.size(); ++i) {
        if (a.done[i]) continue;
        GenerationOutput out;
        out.index = static_cast<int>(i);
        out.input_tokens = a.input_tokens;
        // As the real engine: choices after the first are forked from its prompt blocks, reported as cached.
        out.cached_tokens = i == 0 ? 0 : a.input_tokens;
        const GenerationConfig& gen = a.request.gen;
        if (a.cancelled) {
          out.finish_reason = FinishReason::kAbort;
        } else if (a.produced[i] >= gen.max_new_tokens) {
          out.finish_reason = FinishReason::kLength;
        } else if (a.produced[i] >= static_cast<int>(options_.script.size()) && !gen.ignore_eos) {
          out.token_ids = {kEos};
          a.produced[i]++;
          out.finish_reason = FinishReason::kStop;
        } else {
          // Unsigned, as encode() reads bytes: a UTF-8 byte of the script is a token id in [3, kVocab).
          const auto byte = static_cast<unsigned char>(options_.script[a.produced[i] % options_.script.size()]);
          const char c = static_cast<char>(byte);
          a.produced[i]++;
          out.token_ids = {byte + 3};
          out.text = std::string(1, c);
          a.text[i] += c;
          if (gen.logprobs > 0) {
            TokenLogprob lp{byte + 3, -0.25f, {}};
            for (int k = 0; k < gen.logprobs; ++k) lp.top.emplace_back(byte + 3 + k, -0.25f - k);
            out.logprobs.push_back(lp);
          }
          for (const std::string& stop : gen.stop_words) {
            if (a.text[i].size() >= stop.size() && a.text[i].ends_with(stop)) {
              if (!gen.include_stop_str_in_output) out.text.clear();
              out.finish_reason = FinishReason::kStop;
            }
          }
        }
        out.output_tokens = a.produced[i];
        if (out.finish_reason != FinishReason::kNone) a.done[i] = true;
        all_done = all_done && a.done[i];
        outs.push_back(std::move(out));
      }
      emit.emplace_back(it->second, std::move(outs));
      if (all_done) {
        ++finished_;
        it = active_.erase(it);
      } else {
        ++it;
      }
    }
    // Callbacks run without the lock, as a real engine thread would run them outside its scheduler lock.
    lock.unlock();
    for (auto& [a, outs] : emit) {
      for (auto& out : outs) a->callback(out);
    }
    lock.lock();
  }
}

}  // namespace turbolm::server::testing
