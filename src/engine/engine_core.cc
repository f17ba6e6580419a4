#include "engine/engine_core.h"

#include <algorithm>
#include <cmath>
#include <iterator>
#include <limits>

#include "core/logging.h"
#include "ops/elementwise.h"
#include "ops/random.h"

namespace turbolm {

TokenLogprob token_logprob(const float* row, int64_t vocab, int32_t token, int top_n) {
  const float max = *std::max_element(row, row + vocab);
  double sum = 0;
  for (int64_t v = 0; v < vocab; ++v) sum += std::exp(static_cast<double>(row[v] - max));
  const auto log_z = static_cast<float>(max + std::log(sum));
  TokenLogprob lp{token, row[token] - log_z, {}, {}, {}};
  if (top_n <= 0) return lp;
  // The top_n largest logits, highest first (ties: lower id first, as the sampler orders them), through a heap of
  // top_n ids (worst on top) rather than a vocabulary-sized copy: a scoring step runs this for hundreds of rows.
  auto better = [row](int32_t a, int32_t b) { return row[a] > row[b] || (row[a] == row[b] && a < b); };
  const auto n = static_cast<size_t>(std::min<int64_t>(top_n, vocab));
  std::vector<int32_t> best;
  best.reserve(n);
  for (int32_t v = 0; v < static_cast<int32_t>(vocab); ++v) {
    if (best.size() < n) {
      best.push_back(v);
      std::push_heap(best.begin(), best.end(), better);
    } else if (better(v, best.front())) {
      std::pop_heap(best.begin(), best.end(), better);
      best.back() = v;
      std::push_heap(best.begin(), best.end(), better);
    }
  }
  std::sort_heap(best.begin(), best.end(), better);  // best first
  for (int32_t id : best) lp.top.emplace_back(id, row[id] - log_z);
  return lp;
}

EngineCore::EngineCore(Model& model, const Tokenizer* tokenizer, const EngineCoreConfig& config, const ExecContext& ctx)
    : model_(model),
      tokenizer_(tokenizer),
      ctx_(ctx),
      blocks_(config.num_blocks, config.block_size, config.enable_prefix_caching),
      scheduler_(config.scheduler, blocks_),
      cache_(model.kv_cache_spec(config.num_blocks, config.block_size, config.kv_quant)),
      overlap_steps_(config.overlap_steps && model.supports_token_feedback()) {}

EngineCore::~EngineCore() {
  if (in_flight_ && in_flight_->sampled.valid()) {
    try {
      in_flight_->sampled.wait();  // the device may still write into the cache and buffers freed below
    } catch (const std::exception& e) {
      TLM_LOG_ERROR("a step still on the device failed: {}", e.what());
    }
  }
}

std::unique_ptr<Completion> EngineCore::make_completion(RequestState& request, int index) {
  const GenerationConfig& gen = request.gen;
  auto c = std::make_unique<Completion>();
  c->seq.id = next_seq_id_++;
  c->seq.token_ids = request.prompt_ids;
  c->seq.num_prompt_tokens = static_cast<int32_t>(request.prompt_ids.size());
  c->seq.max_tokens = request.max_tokens;
  c->seq.request = &request;
  c->seq.index = index;
  c->sampling.greedy = !gen.do_sample || gen.temperature <= 0.0f;
  c->sampling.temperature = gen.temperature;
  c->sampling.top_k = gen.top_k;
  c->sampling.top_p = gen.top_p;
  c->sampling.min_p = gen.min_p;
  c->sampling.repetition_penalty = gen.repetition_penalty;
  // Completion 0 uses the request's seed as is, so n = 1 with random_seed = s reproduces across runs.
  c->sampling.seed = index == 0 ? request.seed : random_bits(request.seed, (1ull << 40) + index);
  c->sampling.num_logprobs = gen.logprobs;
  c->seq.score_from = request.score_from;
  c->next_scored = request.score_from;
  if (tokenizer_ != nullptr && !request.scoring()) {
    // The prompt's tail starts the window: the first token reads as a continuation (its leading space kept).
    c->detokenizer = std::make_unique<IncrementalDetokenizer>(*tokenizer_, gen.skip_special_tokens,
                                                              gen.spaces_between_special_tokens, request.prompt_ids);
  }
  c->stop_strings = StopStringMatcher(request.stop_strings, gen.include_stop_str_in_output);
  c->chunk.index = index;
  return c;
}

void EngineCore::add(std::unique_ptr<RequestState> request) {
  RequestState& r = *request;
  counters_.prompt_tokens_total += static_cast<int64_t>(r.prompt_ids.size());
  r.completions.push_back(make_completion(r, 0));
  scheduler_.add(&r.completions[0]->seq);
  requests_[r.id] = std::move(request);
}

void EngineCore::abort(uint64_t request_id, FinishReason reason, const std::string& error) {
  auto it = requests_.find(request_id);
  if (it == requests_.end()) return;
  RequestState& r = *it->second;
  // Siblings not forked yet still get their final chunk.
  while (static_cast<int>(r.completions.size()) < r.gen.n) {
    r.completions.push_back(make_completion(r, static_cast<int>(r.completions.size())));
  }
  for (auto& c : r.completions) {
    if (c->finished) continue;
    c->chunk.error = error;
    finish(*c, reason);
    emit(*c);
  }
  end_request(r);
}

void EngineCore::abort_all(FinishReason reason, const std::string& error) {
  std::vector<uint64_t> ids;
  for (const auto& [id, r] : requests_) ids.push_back(id);
  std::sort(ids.begin(), ids.end());
  for (uint64_t id : ids) abort(id, reason, error);
}

ForwardBatch EngineCore::build_batch(const StepPlan& plan) const {
  ForwardBatch batch;
  batch.seqs.reserve(plan.seqs.size());
  for (const ScheduledSequence& s : plan.seqs) {
    const Sequence& seq = *s.seq;
    ForwardBatch::Sequence& b = batch.seqs.emplace_back();
    b.query_start = static_cast<int32_t>(batch.token_ids.size());
    b.query_len = s.num_new_tokens;
    b.context_len = seq.num_computed_tokens + s.num_new_tokens;
    b.block_table = seq.block_table;
    b.needs_logits = s.needs_logits;
    b.logit_rows = s.logit_rows;
    for (int32_t p = seq.num_computed_tokens; p < b.context_len; ++p) {
      batch.token_ids.push_back(seq.token_ids[p]);
      batch.positions.push_back(p);
    }
  }
  return batch;
}

void EngineCore::step() {
  if (!in_flight_) {
    in_flight_ = launch_scheduled();
    if (!in_flight_) return;
  }
  std::optional<InFlight> next;
  if (overlap_steps_) next = launch_continuation(*in_flight_);
  InFlight done = std::move(*in_flight_);
  in_flight_ = std::move(next);  // before complete(): a completion that finishes there drops its row here
  complete(done);
  if (in_flight_) {
    // The continuation launched above: its fed-back tokens are appended now, so its blocks can be hashed.
    StepPlan live;
    for (const ScheduledSequence& s : in_flight_->plan.seqs)
      if (s.seq != nullptr) live.seqs.push_back(s);
    scheduler_.finish_step(live);
  }
}

std::optional<EngineCore::InFlight> EngineCore::launch_scheduled() {
  StepPlan plan = scheduler_.schedule();
  counters_.preemptions += static_cast<int64_t>(plan.preempted.size());
  if (plan.empty()) {
    // Nothing runs and nothing holds blocks, yet the queue head cannot start: it can never fit. (submit()
    // rejects such requests; this keeps the loop from spinning if that check ever misses one.)
    if (scheduler_.num_running() == 0 && blocks_.num_used_blocks() == 0 && scheduler_.num_waiting() > 0) {
      abort(scheduler_.waiting().front()->request->id, FinishReason::kError,
            "the request needs more KV cache blocks than the pool has");
    }
    return std::nullopt;
  }
  ForwardBatch batch = build_batch(plan);
  Tensor logits;
  try {
    logits = model_.forward(ctx_, batch, cache_);  // [rows with needs_logits, vocab] f32
  } catch (const std::exception& e) {
    // The step's requests fail; their K/V writes are discarded with their blocks. Others carry on.
    TLM_LOG_ERROR("forward pass failed: {}", e.what());
    std::vector<uint64_t> ids;
    for (const ScheduledSequence& s : plan.seqs) ids.push_back(s.seq->request->id);
    for (uint64_t id : ids) abort(id, FinishReason::kError, e.what());
    return std::nullopt;
  }
  scheduler_.finish_step(plan);
  counters_.kv_blocks_peak = std::max(counters_.kv_blocks_peak, blocks_.num_used_blocks());
  ++counters_.steps;
  InFlight step{.plan = std::move(plan)};
  enqueue_sampling(step, logits, 0);
  return step;
}

std::optional<EngineCore::InFlight> EngineCore::launch_continuation(const InFlight& prev) {
  // Only a batch that simply goes on: every running sequence sampled in `prev`, nothing waiting could be
  // admitted, and no row needs its new token on the host first (repetition penalty ids, teacher forcing).
  const bool admission_possible =
      scheduler_.num_waiting() > 0 && scheduler_.num_running() < scheduler_.config().max_batch_size;
  if (!prev.sampled.valid() || admission_possible) return std::nullopt;
  int32_t live = 0;
  for (const ScheduledSequence& s : prev.plan.seqs) {
    if (s.seq == nullptr) continue;
    const Completion& c = *s.seq->request->completions[s.seq->index];
    if (!s.needs_logits || s.seq->request->scoring() || c.sampling.repetition_penalty != 1.0f) return std::nullopt;
    ++live;
  }
  if (live != scheduler_.num_running()) return std::nullopt;

  StepPlan plan;
  ForwardBatch batch;
  batch.feedback = prev.sampled.token_ids();
  for (size_t row = 0; row < prev.plan.seqs.size(); ++row) {
    Sequence* seq = prev.plan.seqs[row].seq;
    // The pending token ends a sequence that reaches its length cap with it: nothing to continue.
    if (seq == nullptr || seq->num_tokens() + 1 >= seq->max_tokens) continue;
    const int32_t pos = seq->num_tokens();  // the pending token's position; everything before is cached
    if (!blocks_.allocate(*seq, pos + 1)) return std::nullopt;  // the normal step decides who is preempted
    plan.seqs.push_back({seq, 1, true, 1, pos});
    ForwardBatch::Sequence& b = batch.seqs.emplace_back();
    b.query_start = static_cast<int32_t>(batch.token_ids.size());
    b.query_len = 1;
    b.context_len = pos + 1;
    b.block_table = seq->block_table;
    batch.token_ids.push_back(feedback_token(static_cast<int32_t>(row)));
    batch.positions.push_back(pos);
  }
  if (plan.empty()) return std::nullopt;
  Tensor logits;
  try {
    logits = model_.forward(ctx_, batch, cache_);
  } catch (const std::exception& e) {
    // Nothing is committed yet: the normal step runs these sequences again and reports what fails.
    TLM_LOG_WARNING("overlapped decode step failed, running it again after the step before: {}", e.what());
    return std::nullopt;
  }
  counters_.kv_blocks_peak = std::max(counters_.kv_blocks_peak, blocks_.num_used_blocks());
  ++counters_.steps;
  ++counters_.overlapped_steps;
  InFlight step{.plan = std::move(plan)};
  enqueue_sampling(step, logits, 1);
  return step;
}

void EngineCore::enqueue_sampling(InFlight& step, Tensor& logits, int32_t pending) {
  std::vector<Completion*> rows;  // logits row -> completion
  step.score_position.clear();    // logits row -> the prompt position it scores (-1: none)
  for (const ScheduledSequence& s : step.plan.seqs) {
    if (!s.needs_logits) continue;
    Completion* c = s.seq->request->completions[s.seq->index].get();
    // The chunk's last logit_rows positions p have logits; row p scores position p + 1 (the prompt's last row none).
    const int32_t end = s.start + s.num_new_tokens;
    for (int32_t p = end - s.logit_rows; p < end; ++p) {
      rows.push_back(c);
      step.score_position.push_back(s.seq->score_from > 0 && p + 1 < s.seq->num_prompt_tokens ? p + 1 : -1);
    }
  }
  TLM_CHECK_EQ(logits.dim(0), static_cast<int64_t>(rows.size()));

  // min_new_tokens: EOS and stop ids cannot be drawn yet.
  Tensor neg_inf = Tensor::empty({1}, DType::kF32);
  *neg_inf.data<float>() = -std::numeric_limits<float>::infinity();
  // Scored rows: the logprob of the prompt's next token under the raw logits (positions reported before skipped).
  std::vector<size_t> scored;
  bool any_sampled = false;
  for (size_t i = 0; i < rows.size(); ++i) {
    Completion& c = *rows[i];
    RequestState& r = *c.seq.request;
    if (r.scoring()) {
      if (step.score_position[i] >= c.next_scored) scored.push_back(i);
      continue;
    }
    any_sampled = true;
    if (c.seq.num_generated() + pending < r.gen.min_new_tokens) {
      for (int32_t id : r.eos_like_ids) {
        Tensor cell = logits[static_cast<int64_t>(i)].slice(0, id, id + 1);
        copy(ctx_, neg_inf, cell);
      }
    }
  }
  score_rows(step, logits, rows, scored);
  if (!any_sampled) return;
  std::vector<SamplingParams> params(rows.size());
  std::vector<std::span<const int32_t>> penalty(rows.size());
  for (size_t i = 0; i < rows.size(); ++i) {
    params[i] = rows[i]->sampling;
    params[i].step = static_cast<uint64_t>(rows[i]->seq.num_generated() + pending);
    penalty[i] = rows[i]->seq.token_ids;  // prompt + output (a continuation has no penalized rows)
  }
  step.sampled = sample_async(ctx_, logits, params, penalty);
}

void EngineCore::score_rows(InFlight& step, const Tensor& logits, const std::vector<Completion*>& rows,
                            const std::vector<size_t>& scored) {
  step.score_logprob.clear();  // decode steps score nothing
  if (scored.empty()) return;
  step.score_logprob.resize(rows.size());
  // Device logits: the rows from the first scored to the last in one copy (a scoring step may score hundreds).
  const int64_t first = static_cast<int64_t>(scored.front()), last = static_cast<int64_t>(scored.back()) + 1;
  const int64_t vocab = logits.dim(1);
  Tensor host = logits.slice(0, first, last);
  if (!logits.device().is_cpu()) {
    host = Tensor::empty({last - first, vocab}, DType::kF32);
    copy(ctx_, logits.slice(0, first, last), host);
  }
  // A pass over the vocabulary per row: the rows in parallel.
  ctx_.threads().parallel_for(static_cast<int64_t>(scored.size()), [&](int64_t begin, int64_t end) {
    for (int64_t k = begin; k < end; ++k) {
      const size_t i = scored[static_cast<size_t>(k)];
      const Completion& c = *rows[i];
      const float* row = host.data<float>() + (static_cast<int64_t>(i) - first) * vocab;
      step.score_logprob[i] =
          token_logprob(row, vocab, c.seq.token_ids[step.score_position[i]], c.seq.request->gen.logprobs);
    }
  });
}

void EngineCore::complete(InFlight& step) {
  std::vector<SampleResult> sampled;
  if (step.sampled.valid()) sampled = step.sampled.wait();
  std::vector<uint64_t> touched;
  size_t row = 0;
  for (const ScheduledSequence& s : step.plan.seqs) {
    if (!s.needs_logits) continue;
    const size_t i = row;
    row += static_cast<size_t>(s.logit_rows);
    if (s.seq == nullptr) continue;  // finished or aborted while this step ran: its row is dropped
    RequestState& r = *s.seq->request;
    Completion& c = *r.completions[s.seq->index];
    if (r.scoring()) {
      complete_scoring(c, step, i, s.logit_rows);
    } else {
      SampleResult& res = sampled[i];
      append_token(c, res.token, {res.token, res.logprob, std::move(res.top_logprobs)});
    }
    emit(c);
    touched.push_back(r.id);
  }
  for (uint64_t id : touched) {
    auto it = requests_.find(id);
    if (it != requests_.end() && it->second->done()) end_request(*it->second);
  }
}

void EngineCore::complete_scoring(Completion& c, InFlight& step, size_t first, int32_t logit_rows) {
  for (size_t i = first; i < first + static_cast<size_t>(logit_rows); ++i) {
    const int32_t position = step.score_position[i];
    if (position < c.next_scored) continue;  // the prompt's last row, or reported before a preemption
    const int32_t token = c.seq.token_ids[position];
    c.chunk.token_ids.push_back(token);
    c.chunk.logprobs.push_back(std::move(step.score_logprob[i]));
    c.next_scored = position + 1;
  }
  if (c.seq.num_computed_tokens == c.seq.num_tokens()) finish(c, FinishReason::kLength);
}

void EngineCore::append_token(Completion& c, int32_t token, TokenLogprob logprob) {
  RequestState& r = *c.seq.request;
  c.seq.token_ids.push_back(token);
  c.chunk.token_ids.push_back(token);
  if (r.gen.logprobs > 0) {
    if (c.detokenizer) {  // before the push: the texts read as continuations of what came before
      std::vector<int32_t> ids = {token};
      for (const auto& [id, lp] : logprob.top) ids.push_back(id);
      std::vector<std::string> texts = c.detokenizer->peek(ids);
      logprob.text = std::move(texts[0]);
      logprob.top_text.assign(std::make_move_iterator(texts.begin() + 1), std::make_move_iterator(texts.end()));
    }
    c.chunk.logprobs.push_back(std::move(logprob));
  }
  ++counters_.generation_tokens_total;
  if (c.seq.index == 0 && c.seq.num_generated() == 1 && r.gen.n > 1) fork_siblings(r);

  FinishReason reason = FinishReason::kNone;
  if (std::find(r.stop_ids.begin(), r.stop_ids.end(), token) != r.stop_ids.end()) {
    reason = FinishReason::kStop;  // the stop token's text is not part of the output
  } else if (c.detokenizer) {
    c.chunk.text += c.stop_strings.push(c.detokenizer->push(token));
    if (c.stop_strings.stopped()) reason = FinishReason::kStop;
  }
  if (reason == FinishReason::kNone && c.seq.num_tokens() >= c.seq.max_tokens) reason = FinishReason::kLength;
  if (reason != FinishReason::kNone) finish(c, reason);
}

void EngineCore::fork_siblings(RequestState& r) {
  const Sequence& first = r.completions[0]->seq;
  r.completions.resize(r.gen.n);
  // Front of the queue, in index order: they belong to a request that is already running.
  for (int i = r.gen.n - 1; i >= 1; --i) {
    r.completions[i] = make_completion(r, i);
    blocks_.fork(first, r.completions[i]->seq, static_cast<int32_t>(r.prompt_ids.size()));
    scheduler_.add_front(&r.completions[i]->seq);
  }
}

void EngineCore::finish(Completion& c, FinishReason reason) {
  if (c.detokenizer && !c.stop_strings.stopped()) {
    // The detokenizer's tail may still complete a stop string.
    c.chunk.text += c.stop_strings.push(c.detokenizer->finish());
    if (c.stop_strings.stopped()) {
      reason = FinishReason::kStop;
    } else {
      c.chunk.text += c.stop_strings.flush();
    }
  }
  c.finished = true;
  c.chunk.finish_reason = reason;
  if (in_flight_) {
    for (ScheduledSequence& s : in_flight_->plan.seqs)
      if (s.seq == &c.seq) s.seq = nullptr;
  }
  scheduler_.remove(&c.seq);
  ++c.seq.request->num_finished;
}

void EngineCore::emit(Completion& c) {
  if (c.chunk.token_ids.empty() && c.chunk.finish_reason == FinishReason::kNone && c.chunk.text.empty()) return;
  const RequestState& r = *c.seq.request;
  c.chunk.input_tokens = static_cast<int>(r.prompt_ids.size());
  c.chunk.output_tokens = c.seq.num_generated();
  c.chunk.cached_tokens = c.seq.num_cached_prompt_tokens;
  try {
    if (r.on_output) r.on_output(c.chunk);
  } catch (const std::exception& e) {
    TLM_LOG_ERROR("output callback of request {} threw: {}", r.id, e.what());
  }
  c.chunk = GenerationOutput{};
  c.chunk.index = c.seq.index;
}

void EngineCore::end_request(RequestState& request) {
  ++counters_.requests_finished;
  requests_.erase(request.id);
}

EngineStats EngineCore::stats() const {
  EngineStats s = counters_;
  s.running = scheduler_.num_running();
  s.waiting = scheduler_.num_waiting();
  s.kv_blocks_total = blocks_.num_blocks();
  s.kv_blocks_used = blocks_.num_used_blocks();
  s.kv_block_size = blocks_.block_size();
  s.prefix_cache_queried_tokens = blocks_.queried_tokens();
  s.prefix_cache_hit_tokens = blocks_.hit_tokens();
  return s;
}

}  // namespace turbolm
