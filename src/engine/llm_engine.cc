#include "engine/llm_engine.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <random>

#include "core/logging.h"
#include "engine/placement.h"
#include "io/json_file.h"
#include "io/model_config.h"
#include "models/tensor_parallel_model.h"
#include "parallel/tcp_bootstrap.h"
#include "parallel/tp_devices.h"

namespace turbolm {
namespace {

class Handle final : public RequestHandle {
 public:
  Handle(uint64_t id, std::shared_ptr<EngineInbox> inbox) : id_(id), inbox_(std::move(inbox)) {}
  uint64_t id() const override { return id_; }
  void cancel() override {
    std::lock_guard lock(inbox_->mutex);
    inbox_->cancelled.push_back(id_);  // the engine ignores ids it no longer knows
    inbox_->wake.notify_one();
  }

 private:
  uint64_t id_;
  std::shared_ptr<EngineInbox> inbox_;
};

// Overlapped decode steps (EngineCoreConfig::overlap_steps) pay off where the device runs asynchronously to
// the host; on the CPU a step is synchronous and a continuation would only add a wasted token per finished
// sequence. TURBOLM_OVERLAP_STEPS=0 turns it off (to measure what it brings), =1 forces it on.
bool overlap_steps_enabled(Device device) {
  const char* env = std::getenv("TURBOLM_OVERLAP_STEPS");
  if (env != nullptr && *env != '\0') return std::string_view(env) != "0";
  return device.is_cuda();
}

}  // namespace

EngineParts load_engine_parts(const std::string& model_dir, const EngineConfig& config) {
  namespace fs = std::filesystem;
  EngineParts parts;
  parts.model_dir = model_dir;
  const Device device = resolve_device(config.device);
  // Before loading: bad --tp / --nnodes flags fail fast.
  check_node_layout(
      config.tp,
      TcpBootstrap{.dist_init_addr = config.dist_init_addr, .nnodes = config.nnodes, .node_rank = config.node_rank});
  if (config.nnodes > 1) {
    TLM_FAIL(kUnsupported) << "--nnodes " << config.nnodes << ": multi-node tensor parallelism is not built yet "
                           << "(missing: node 0 sending each step's batch to the other nodes' ranks; "
                           << "docs/tensor_parallel.md). Run --tp up to the GPUs of one node.";
  }
  check_tensor_parallel_devices(config.tp, device);
  if (config.tp > 1) {
    TLM_CHECK_ARG(device.index == 0) << "--tp " << config.tp << " runs on GPUs 0.." << config.tp - 1 << ", not from "
                                     << device.to_string() << " (choose GPUs with CUDA_VISIBLE_DEVICES)";
    // One rank thread per GPU, each with its shard and its own KV cache; the scheduler stays single.
    parts.model = load_tensor_parallel_cuda(model_dir, config.tp);
  } else {
    parts.model = load_model(model_dir, LoadOptions{.device = device});
  }
  fs::path dir(model_dir);
  if (fs::exists(dir / "tokenizer.json") || fs::exists(dir / "tokenizer.model") || fs::exists(dir / "vocab.json")) {
    parts.tokenizer = Tokenizer::from_dir(dir);
  } else {
    TLM_LOG_WARNING("{} has no tokenizer: the engine takes token ids only", model_dir);
  }
  if (!config.chat_template.empty()) {
    parts.chat_template = std::make_unique<ChatTemplate>(ChatTemplate::from_spec(config.chat_template, dir));
  } else if (parts.tokenizer != nullptr) {
    try {
      parts.chat_template = std::make_unique<ChatTemplate>(ChatTemplate::from_model_dir(dir));
    } catch (const Error& e) {
      if (e.code() != ErrorCode::kNotFound) throw;
      TLM_LOG_WARNING("{} has no chat template; using the built-in 'chatml' (see --chat-template)", model_dir);
      parts.chat_template = std::make_unique<ChatTemplate>(ChatTemplate::from_spec("chatml", dir));
    }
  }
  parts.eos_token_ids = GenerationDefaults::from_dir(dir).eos_token_ids;
  if (parts.eos_token_ids.empty()) parts.eos_token_ids = parts.model->config().eos_token_ids;
  if (parts.eos_token_ids.empty() && parts.tokenizer != nullptr && parts.tokenizer->eos_id()) {
    parts.eos_token_ids.push_back(*parts.tokenizer->eos_id());
  }
  return parts;
}

std::unique_ptr<Engine> Engine::create(const std::string& model_dir, const EngineConfig& config) {
  return std::make_unique<LlmEngine>(load_engine_parts(model_dir, config), config);
}

LlmEngine::LlmEngine(EngineParts parts, const EngineConfig& config) : parts_(std::move(parts)), config_(config) {
  const Model& model = *parts_.model;
  const ModelConfig& mc = model.config();
  TLM_CHECK_ARG(config.max_batch_size >= 0) << "max_batch_size must be >= 1 (or 0 for the device's default)";
  if (config_.max_batch_size == 0) config_.max_batch_size = default_max_batch_size(model.device());
  TLM_CHECK_ARG(config.cache_block_seq_len >= 1) << "cache_block_seq_len must be >= 1";
  TLM_CHECK_ARG(config.max_prefill_token_num >= 1) << "max_prefill_token_num must be >= 1";
  TLM_CHECK_ARG(config.session_len >= 0) << "session_len must be >= 0 (0 = the model's max positions), got "
                                         << config.session_len;
  TLM_CHECK_ARG(config.num_threads >= 0 && config.num_threads <= 4096)
      << "num_threads must be in [0, 4096] (0 = all cores), got " << config.num_threads;
  config_.session_len = config.session_len > 0 ? config.session_len : static_cast<int>(mc.max_position_embeddings);
  if (config.session_len > 0) {
    TLM_CHECK_ARG(config_.session_len >= 2) << "session_len must be >= 2, got " << config.session_len;
  } else {
    TLM_CHECK_ARG(config_.session_len >= 2)
        << "session_len must be >= 2: the model config's max_position_embeddings is "
        << (mc.max_position_embeddings > 0 ? std::to_string(mc.max_position_embeddings) : std::string("missing"))
        << "; pass --session-len";
  }

  const int32_t block_size = config.cache_block_seq_len;
  const KvQuant quant = kv_quant_from_policy(config.quant_policy);
  KvPoolRequest pool{.cache_max_entry_count = config.cache_max_entry_count,
                     .bytes_per_block = model.kv_cache_spec(1, block_size, quant).bytes_per_block(),
                     .max_useful_blocks = static_cast<int64_t>(config_.max_batch_size) *
                                          ((config_.session_len + block_size - 1) / block_size)};
  if (config.cache_max_entry_count < 1) {
    // Measured after loading: CPU weights live in anonymous memory (io/mapped_file.h FileAccess::kRead) and GPU
    // weights in device memory, so the free figure already excludes them. Under tensor parallelism the spec
    // and the device are rank 0's: every rank holds one shard and a cache of the same size.
    pool.available_bytes = available_memory(model.device());
  } else {
    try {  // a block count is checked against it where it is known
      pool.available_bytes = available_memory(model.device());
    } catch (const Error&) {
      pool.available_bytes = 0;
    }
  }
  num_blocks_ = kv_pool_blocks(pool);
  TLM_LOG_INFO("KV cache: {} blocks x {} tokens = {} tokens, {:.1f} MiB ({} bytes/block, quant_policy {})", num_blocks_,
               block_size, num_blocks_ * block_size,
               static_cast<double>(num_blocks_ * pool.bytes_per_block) / (1 << 20), pool.bytes_per_block,
               config.quant_policy);

  if (config.num_threads > 0) pool_ = std::make_unique<ThreadPool>(config.num_threads);
  ExecContext ctx{.device = model.device(), .pool = pool_.get(), .graphs = !config.eager_mode};
  // Scoring chunks get logits at every position: at most ~256 MiB of f32 logits rows a step (Qwen3's vocabulary:
  // 441 tokens; a 32k one: 2,048), within the prefill budget.
  const int64_t scored_tokens =
      std::clamp<int64_t>((int64_t{256} << 20) / (model.config().vocab_size * 4), 16, config.max_prefill_token_num);
  EngineCoreConfig core{.scheduler = {.max_batch_size = config_.max_batch_size,
                                      .max_prefill_token_num = config.max_prefill_token_num,
                                      .max_scored_tokens = static_cast<int32_t>(scored_tokens)},
                        .num_blocks = num_blocks_,
                        .block_size = block_size,
                        .enable_prefix_caching = config.enable_prefix_caching,
                        .kv_quant = quant,
                        .overlap_steps = overlap_steps_enabled(model.device())};
  core_ = std::make_unique<EngineCore>(*parts_.model, parts_.tokenizer.get(), core, ctx);
  // The other ranks' caches now, so that running out of memory on a GPU fails startup rather than a step.
  if (auto* tp = dynamic_cast<TensorParallelModel*>(parts_.model.get())) tp->attach_cache(core_->cache());

  std::filesystem::path dir(parts_.model_dir);
  info_.model_dir = parts_.model_dir;
  info_.model_name = !config.model_name.empty() ? config.model_name : dir.filename().string();
  if (info_.model_name.empty()) info_.model_name = dir.parent_path().filename().string();  // "dir/"
  info_.architecture = mc.architecture;
  info_.session_len = config_.session_len;
  info_.vocab_size = mc.vocab_size;
  info_.eos_token_ids = parts_.eos_token_ids;
  info_.device = model.device().to_string();
  info_.has_tokenizer = parts_.tokenizer != nullptr;
  stats_ = core_->stats();

  inbox_ = std::make_shared<EngineInbox>();
  thread_ = std::thread([this] { loop(); });
}

LlmEngine::~LlmEngine() {
  {
    std::lock_guard lock(inbox_->mutex);
    inbox_->stop = true;
  }
  inbox_->wake.notify_one();
  thread_.join();
}

void LlmEngine::loop() {
  for (;;) {
    std::vector<std::unique_ptr<RequestState>> added;
    std::vector<uint64_t> cancelled;
    bool stop;
    {
      std::unique_lock lock(inbox_->mutex);
      inbox_->wake.wait(lock, [&] {
        return inbox_->stop || !inbox_->added.empty() || !inbox_->cancelled.empty() || core_->has_work();
      });
      added.swap(inbox_->added);
      cancelled.swap(inbox_->cancelled);
      stop = inbox_->stop;
    }
    try {
      for (auto& r : added) core_->add(std::move(r));
      for (uint64_t id : cancelled) core_->abort(id);
      if (stop) {
        core_->abort_all();
      } else if (core_->has_work()) {
        core_->step();
      }
    } catch (const std::exception& e) {
      // A broken invariant: fail everything in flight rather than hang the callers.
      TLM_LOG_ERROR("engine step failed: {}", e.what());
      core_->abort_all(FinishReason::kError, e.what());
    }
    {
      std::lock_guard lock(stats_mutex_);
      stats_ = core_->stats();
    }
    if (stop) return;
  }
}

EngineStats LlmEngine::stats() const {
  std::lock_guard lock(stats_mutex_);
  return stats_;
}

const Tokenizer& LlmEngine::require_tokenizer() const {
  TLM_CHECK_ARG(parts_.tokenizer != nullptr) << "the model folder has no tokenizer: send token ids";
  return *parts_.tokenizer;
}

std::vector<int32_t> LlmEngine::encode(std::string_view text, bool add_special_tokens) const {
  return require_tokenizer().encode(text, add_special_tokens);
}

std::string LlmEngine::decode(const std::vector<int32_t>& ids, bool skip_special_tokens) const {
  return require_tokenizer().decode(ids, skip_special_tokens);
}

std::vector<int32_t> LlmEngine::prompt_ids(const Request& request) const {
  std::vector<int32_t> ids;
  if (!request.prompt_ids.empty()) {
    ids = request.prompt_ids;
  } else if (!request.messages_json.empty()) {
    TLM_CHECK_ARG(parts_.chat_template != nullptr)
        << (parts_.tokenizer == nullptr ? "the model has no tokenizer (tokenizer.json, tokenizer.model or vocab.json + "
                                          "merges.txt): messages cannot be rendered; send token ids"
                                        : "the model has no chat template: send a prompt");
    ChatTemplateInputs inputs;
    inputs.messages = parse_json_text<nlohmann::ordered_json>(request.messages_json, "messages");
    TLM_CHECK_ARG(inputs.messages.is_array() && !inputs.messages.empty()) << "messages must be a non-empty list";
    if (!request.tools_json.empty())
      inputs.tools = parse_json_text<nlohmann::ordered_json>(request.tools_json, "tools");
    if (!request.chat_template_kwargs_json.empty()) {
      inputs.extra = parse_json_text<nlohmann::ordered_json>(request.chat_template_kwargs_json, "chat_template_kwargs");
    }
    inputs.add_generation_prompt = request.add_generation_prompt;
    // The rendered text carries its own special tokens (BOS included where the template writes it).
    ids = require_tokenizer().encode(parts_.chat_template->render(inputs), false);
  } else {
    // An empty text would still encode to BOS and run: refused like empty ids (no prompt at all lands here too).
    TLM_CHECK_ARG(!request.prompt.empty()) << "the prompt is empty";
    ids = require_tokenizer().encode(request.prompt, request.add_special_tokens);
  }
  TLM_CHECK_ARG(!ids.empty()) << "the prompt is empty";
  // So that front ends checking every request before submitting any catch these too: the settings, and stop ids
  // past the vocabulary (they could never be sampled, so the stop would silently never fire).
  validate(request.gen);
  require_in_vocabulary(ids, "token id");
  require_in_vocabulary(request.gen.stop_token_ids, "stop token id");
  const auto n = static_cast<int64_t>(ids.size());
  TLM_CHECK_ARG(n < config_.session_len) << "the prompt has " << n << " tokens; session_len " << config_.session_len
                                         << " leaves no room for output";
  TLM_CHECK_ARG(n < kv_pool_tokens()) << "the prompt has " << n << " tokens; the KV cache pool holds "
                                      << kv_pool_tokens() << " (raise --cache-max-entry-count)";
  return ids;
}

void LlmEngine::require_in_vocabulary(const std::vector<int32_t>& ids, const char* what) const {
  for (int32_t id : ids) {
    TLM_CHECK_ARG(id >= 0 && id < info_.vocab_size)
        << what << " " << id << " is outside the vocabulary [0, " << info_.vocab_size << ")";
  }
}

std::unique_ptr<RequestState> LlmEngine::make_request(std::vector<int32_t> prompt, const GenerationConfig& gen) const {
  validate(gen);
  auto r = std::make_unique<RequestState>();
  r->id = next_request_id_.fetch_add(1);
  r->gen = gen;
  const auto prompt_len = static_cast<int64_t>(prompt.size());
  r->max_tokens = static_cast<int32_t>(
      std::min({prompt_len + gen.max_new_tokens, static_cast<int64_t>(config_.session_len), kv_pool_tokens()}));
  r->prompt_ids = std::move(prompt);
  r->seed = gen.random_seed ? *gen.random_seed : std::random_device{}() * 0x100000001ull + std::random_device{}();

  auto add_stop_id = [&](int32_t id, bool is_eos) {
    if (!is_eos || !gen.ignore_eos) r->stop_ids.push_back(id);
    r->eos_like_ids.push_back(id);
  };
  for (int32_t id : parts_.eos_token_ids) add_stop_id(id, true);
  for (int32_t id : gen.stop_token_ids) add_stop_id(id, false);
  // A stop word that is one special token is matched by id: with skip_special_tokens it never shows as text.
  std::vector<std::string> words = gen.stop_words;
  if (parts_.chat_template != nullptr) {
    for (const std::string& w : parts_.chat_template->stop_words()) words.push_back(w);
  }
  for (const std::string& w : words) {
    std::optional<int32_t> id = parts_.tokenizer ? parts_.tokenizer->token_to_id(w) : std::nullopt;
    if (id && parts_.tokenizer->is_special(*id)) {
      add_stop_id(*id, false);
    } else {
      r->stop_strings.push_back(w);
    }
  }
  return r;
}

std::shared_ptr<RequestHandle> LlmEngine::enqueue(std::unique_ptr<RequestState> request) {
  auto handle = std::make_shared<Handle>(request->id, inbox_);
  {
    std::lock_guard lock(inbox_->mutex);
    TLM_CHECK_ARG(!inbox_->stop) << "the engine is shutting down";
    inbox_->added.push_back(std::move(request));
  }
  inbox_->wake.notify_one();
  return handle;
}

std::shared_ptr<RequestHandle> LlmEngine::submit(Request request, OutputCallback on_output) {
  auto state = make_request(prompt_ids(request), request.gen);
  state->on_output = std::move(on_output);
  return enqueue(std::move(state));
}

std::shared_ptr<RequestHandle> LlmEngine::submit_scoring(std::vector<int32_t> context,
                                                         std::vector<int32_t> continuation, int top_logprobs,
                                                         OutputCallback on_output) {
  TLM_CHECK_ARG(!context.empty() && !continuation.empty()) << "scoring needs a context and a continuation";
  require_in_vocabulary(context, "token id");
  require_in_vocabulary(continuation, "token id");
  // The whole text is the prompt, scored by the prefill: it may fill session_len (nothing is generated after it).
  const auto total = static_cast<int64_t>(context.size() + continuation.size());
  TLM_CHECK_ARG(total <= config_.session_len && total <= kv_pool_tokens())
      << "context + continuation (" << total << " tokens) exceed session_len (" << config_.session_len
      << ") or the KV cache pool (" << kv_pool_tokens() << " tokens)";
  const auto score_from = static_cast<int32_t>(context.size());
  std::vector<int32_t> prompt = std::move(context);
  prompt.insert(prompt.end(), continuation.begin(), continuation.end());
  GenerationConfig gen;
  gen.logprobs = top_logprobs;  // validated (>= 0) with the rest
  auto state = make_request(std::move(prompt), gen);
  state->max_tokens = static_cast<int32_t>(total);
  state->score_from = score_from;
  state->on_output = std::move(on_output);
  return enqueue(std::move(state));
}

}  // namespace turbolm
