#include "engine/scheduler.h"

#include <algorithm>

#include "core/error.h"

namespace turbolm {

Scheduler::Scheduler(const SchedulerConfig& config, BlockManager& blocks) : config_(config), blocks_(blocks) {
  TLM_CHECK_GT(config.max_batch_size, 0);
  TLM_CHECK_GT(config.max_prefill_token_num, 0);
}

void Scheduler::add(Sequence* seq) {
  seq->status = SequenceStatus::kWaiting;
  waiting_.push_back(seq);
}

void Scheduler::add_front(Sequence* seq) {
  seq->status = SequenceStatus::kWaiting;
  waiting_.push_front(seq);
}

void Scheduler::preempt(Sequence* seq) {
  blocks_.free(*seq);
  seq->status = SequenceStatus::kWaiting;
  waiting_.push_front(seq);
  ++num_preemptions_;
}

ScheduledSequence Scheduler::entry(Sequence* seq, int32_t n) {
  const int32_t start = seq->num_computed_tokens;
  if (seq->score_from == 0) return {seq, n, n == seq->num_uncomputed(), 1, start};
  // Positions score_from - 1 .. the last one of this chunk have logits (the prompt's last position's row scores
  // nothing: it would predict past the prompt; the engine skips it).
  const int32_t end = start + n, first = std::max(start, seq->score_from - 1);
  return {seq, n, end > first, end - first, start};
}

int32_t Scheduler::chunk_size(const Sequence* seq, int32_t budget, int32_t score_budget) const {
  const int32_t uncomputed = seq->num_uncomputed();
  if (seq->score_from > 0) return std::min({uncomputed, budget, score_budget});
  return uncomputed == 1 ? 1 : std::min(uncomputed, budget);
}

StepPlan Scheduler::schedule() {
  StepPlan plan;
  int32_t budget = config_.max_prefill_token_num, score_budget = config_.max_scored_tokens;
  auto take = [&](Sequence* seq, int32_t n) {
    if (seq->num_uncomputed() > 1 || seq->score_from > 0) budget -= n;
    if (seq->score_from > 0) score_budget -= n;
    plan.seqs.push_back(entry(seq, n));
  };

  // 1. Running sequences; a victim is taken from the back, so iterate by index over a shrinking vector.
  for (size_t i = 0; i < running_.size(); ++i) {
    Sequence* seq = running_[i];
    int32_t n = chunk_size(seq, budget, score_budget);
    if (n == 0) continue;  // a prefill whose chunk must wait for budget
    while (!blocks_.allocate(*seq, seq->num_computed_tokens + n)) {
      Sequence* victim = running_.back();
      running_.pop_back();
      preempt(victim);
      plan.preempted.push_back(victim);
      if (victim == seq) break;
    }
    if (seq->status != SequenceStatus::kRunning) break;  // preempted itself: everything after it is gone too
    take(seq, n);
  }

  // 2. Waiting sequences, FCFS; a sequence preempted in this step waits for the next one.
  bool released_waiting = false;
  while (!waiting_.empty() && static_cast<int32_t>(running_.size()) < config_.max_batch_size &&
         plan.preempted.empty()) {
    Sequence* seq = waiting_.front();
    // A head that waits is looked up again every step: the counters take the lookup that admits it.
    const int32_t matched =
        seq->block_table.empty() && seq->score_from == 0 ? blocks_.match_prefix(*seq, /*count=*/false) : -1;
    if (!seq->admitted_once) seq->num_cached_prompt_tokens = std::min(seq->num_computed_tokens, seq->num_prompt_tokens);
    int32_t n = chunk_size(seq, budget, score_budget);
    if (n == 0 || !blocks_.allocate(*seq, seq->num_computed_tokens + n)) {
      blocks_.free(*seq);  // a waiting sequence holds no blocks: release the prefix-cache hits taken above
      // Forked siblings (n > 1) wait holding their shared prompt blocks. When the head cannot be admitted they let
      // go (they find them again through the prefix cache, or recompute): otherwise a head that needs those blocks
      // waits forever while nothing runs, and the siblings behind it are never tried. Then the head tries again.
      if (n > 0 && !released_waiting && release_waiting_blocks()) {
        released_waiting = true;
        continue;
      }
      break;
    }
    if (matched >= 0) blocks_.count_lookup(seq->num_tokens(), matched);
    waiting_.pop_front();
    seq->status = SequenceStatus::kRunning;
    seq->admitted_once = true;
    running_.push_back(seq);
    take(seq, n);
  }
  return plan;
}

bool Scheduler::release_waiting_blocks() {
  bool released = false;
  for (Sequence* seq : waiting_) {
    if (seq->block_table.empty()) continue;
    blocks_.free(*seq);
    released = true;
  }
  return released;
}

void Scheduler::finish_step(const StepPlan& plan) {
  for (const ScheduledSequence& s : plan.seqs) {
    s.seq->num_computed_tokens += s.num_new_tokens;
    blocks_.commit(*s.seq);
  }
}

void Scheduler::remove(Sequence* seq) {
  if (seq->status == SequenceStatus::kRunning) {
    running_.erase(std::find(running_.begin(), running_.end(), seq));
  } else if (seq->status == SequenceStatus::kWaiting) {
    auto it = std::find(waiting_.begin(), waiting_.end(), seq);
    if (it != waiting_.end()) waiting_.erase(it);
  }
  blocks_.free(*seq);
  seq->status = SequenceStatus::kFinished;
}

}  // namespace turbolm
