#include "engine/scheduler.h"

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <random>
#include <tuple>

namespace turbolm {
namespace {

// Drives the scheduler like the engine does, with a fake "model" whose next token depends only on
// (sequence id, position), so preemption and batching must not change any sequence's tokens.
struct Driver {
  Driver(int64_t num_blocks, int32_t block_size, SchedulerConfig config, bool caching = true)
      : blocks(num_blocks, block_size, caching), scheduler(config, blocks) {}

  static int32_t next_token(const Sequence& s) { return static_cast<int32_t>((s.id * 31 + s.num_tokens() * 7) % 500); }

  Sequence* add(std::vector<int32_t> prompt, int32_t max_tokens) {
    auto seq = std::make_unique<Sequence>();
    seq->id = next_id++;
    seq->num_prompt_tokens = static_cast<int32_t>(prompt.size());
    seq->token_ids = std::move(prompt);
    seq->max_tokens = max_tokens;
    scheduler.add(seq.get());
    seqs.push_back(std::move(seq));
    return seqs.back().get();
  }
  Sequence* add(int32_t prompt_len, int32_t max_tokens) {
    std::vector<int32_t> prompt(prompt_len);
    for (int32_t i = 0; i < prompt_len; ++i) prompt[i] = static_cast<int32_t>(next_id * 1000 + i);
    return add(std::move(prompt), max_tokens);
  }

  StepPlan step() {
    StepPlan plan = scheduler.schedule();
    scheduler.finish_step(plan);
    for (const ScheduledSequence& s : plan.seqs) {
      EXPECT_EQ(s.seq->num_computed_tokens <= s.seq->num_tokens(), true);
      if (!s.needs_logits) continue;
      s.seq->token_ids.push_back(next_token(*s.seq));
      if (s.seq->num_tokens() >= s.seq->max_tokens) scheduler.remove(s.seq);
    }
    check_invariants();
    return plan;
  }

  // Every reference is held by a live sequence's block table; block tables cover the computed tokens.
  void check_invariants() {
    std::map<int32_t, int> refs;
    for (const auto& s : seqs) {
      if (s->status == SequenceStatus::kFinished) {
        EXPECT_TRUE(s->block_table.empty());
        continue;
      }
      EXPECT_GE(static_cast<int64_t>(s->block_table.size()) * blocks.block_size(), s->num_computed_tokens);
      for (int32_t b : s->block_table) ++refs[b];
    }
    for (const auto& [b, n] : refs) EXPECT_EQ(blocks.ref_count(b), n) << "block " << b;
    EXPECT_EQ(blocks.num_used_blocks(), static_cast<int64_t>(refs.size()));
  }

  BlockManager blocks;
  Scheduler scheduler;
  std::vector<std::unique_ptr<Sequence>> seqs;
  uint64_t next_id = 1;
};

TEST(Scheduler, ChunkedPrefillBoundaries) {
  Driver d(64, 4, {.max_batch_size = 8, .max_prefill_token_num = 4});
  Sequence* s = d.add(10, 100);
  std::vector<std::pair<int32_t, bool>> chunks;
  for (int i = 0; i < 4; ++i) {
    StepPlan plan = d.step();
    ASSERT_EQ(plan.seqs.size(), 1u);
    chunks.emplace_back(plan.seqs[0].num_new_tokens, plan.seqs[0].needs_logits);
  }
  EXPECT_EQ(chunks, (std::vector<std::pair<int32_t, bool>>{{4, false}, {4, false}, {2, true}, {1, true}}));
  EXPECT_EQ(s->num_generated(), 2);
  EXPECT_EQ(s->num_computed_tokens, 11);
}

TEST(Scheduler, DecodesFirstPrefillFillsTheBudget) {
  Driver d(64, 4, {.max_batch_size = 8, .max_prefill_token_num = 4});
  Sequence* a = d.add(3, 100);
  d.step();  // a: prefill 3
  Sequence* b = d.add(10, 100);
  Sequence* c = d.add(2, 100);
  StepPlan plan = d.step();
  ASSERT_EQ(plan.seqs.size(), 2u);  // c waits: the budget is spent
  EXPECT_EQ(plan.seqs[0].seq, a);
  EXPECT_EQ(plan.seqs[0].num_new_tokens, 1);
  EXPECT_EQ(plan.seqs[1].seq, b);
  EXPECT_EQ(plan.seqs[1].num_new_tokens, 4);
  plan = d.step();  // a decodes, b continues its prefill with the whole budget, c still waits (FCFS)
  ASSERT_EQ(plan.seqs.size(), 2u);
  EXPECT_EQ(plan.seqs[1].seq, b);
  EXPECT_EQ(plan.seqs[1].num_new_tokens, 4);
  plan = d.step();  // b's last 2 prompt tokens, c gets the other 2
  ASSERT_EQ(plan.seqs.size(), 3u);
  EXPECT_EQ(plan.seqs[1].num_new_tokens, 2);
  EXPECT_TRUE(plan.seqs[1].needs_logits);
  EXPECT_EQ(plan.seqs[2].seq, c);
  EXPECT_EQ(plan.seqs[2].num_new_tokens, 2);
}

// A scoring sequence (score_from > 0) feeds at most max_scored_tokens a step, takes no prefix-cache hit, and its
// chunks get logits rows from position score_from - 1 on.
TEST(Scheduler, ScoringChunksGetLogitsRowsWithinTheScoringBudget) {
  Driver d(64, 4, {.max_batch_size = 8, .max_prefill_token_num = 64, .max_scored_tokens = 6});
  std::vector<int32_t> prompt(20);
  for (int i = 0; i < 20; ++i) prompt[i] = i;
  d.add(prompt, 21);  // the same prompt generated first: its blocks are in the prefix cache
  while (d.scheduler.has_work()) d.step();
  Sequence* s = d.add(prompt, 20);
  s->score_from = 8;
  std::vector<std::tuple<int32_t, int32_t, bool, int32_t>> chunks;  // start, tokens, needs_logits, logit rows
  while (s->num_computed_tokens < s->num_tokens()) {
    StepPlan plan = d.scheduler.schedule();
    ASSERT_EQ(plan.seqs.size(), 1u);
    const ScheduledSequence& e = plan.seqs[0];
    chunks.emplace_back(e.start, e.num_new_tokens, e.needs_logits, e.needs_logits ? e.logit_rows : 0);
    d.scheduler.finish_step(plan);
  }
  EXPECT_EQ(s->num_cached_prompt_tokens, 0);  // no prefix-cache hit: every position is computed
  EXPECT_EQ(chunks, (std::vector<std::tuple<int32_t, int32_t, bool, int32_t>>{
                        {0, 6, false, 0}, {6, 6, true, 5}, {12, 6, true, 6}, {18, 2, true, 2}}));
  d.scheduler.remove(s);
  d.check_invariants();
}

TEST(Scheduler, MaxBatchSizeBoundsTheRunningSet) {
  Driver d(64, 4, {.max_batch_size = 2, .max_prefill_token_num = 100});
  d.add(3, 100);
  d.add(3, 100);
  Sequence* c = d.add(3, 100);
  for (int i = 0; i < 5; ++i) {
    StepPlan plan = d.step();
    EXPECT_EQ(plan.seqs.size(), 2u);
    EXPECT_EQ(c->status, SequenceStatus::kWaiting);
  }
}

TEST(Scheduler, PreemptionRecomputesAndResumesWithTheSameTokens) {
  // Reference run with a large pool.
  Driver ref(64, 4, {.max_batch_size = 8, .max_prefill_token_num = 64});
  ref.add(7, 14);
  ref.add(7, 14);
  while (ref.scheduler.has_work()) ref.step();

  Driver d(5, 4, {.max_batch_size = 8, .max_prefill_token_num = 64});
  Sequence* a = d.add(7, 14);
  Sequence* b = d.add(7, 14);
  d.step();  // both prefilled: 2 + 2 blocks
  EXPECT_EQ(d.blocks.num_free_blocks(), 1);
  bool preempted_b = false;
  while (a->status != SequenceStatus::kFinished) {
    StepPlan plan = d.step();
    if (!plan.preempted.empty()) {
      EXPECT_EQ(plan.preempted, std::vector<Sequence*>{b});  // the newest goes
      EXPECT_EQ(d.scheduler.waiting().front(), b);
      EXPECT_TRUE(b->block_table.empty());
      EXPECT_EQ(b->num_computed_tokens, 0);
      preempted_b = true;
    }
  }
  EXPECT_TRUE(preempted_b);
  EXPECT_GE(d.scheduler.num_preemptions(), 1);
  while (d.scheduler.has_work()) d.step();
  EXPECT_EQ(a->token_ids, ref.seqs[0]->token_ids);
  EXPECT_EQ(b->token_ids, ref.seqs[1]->token_ids);
  EXPECT_EQ(d.blocks.num_used_blocks(), 0);
}

// Regression (found by a stress run through the server: n = 2 under a small KV pool hung every request): a forked
// sibling waits holding its shared prompt blocks; when a preempted sequence goes in front of it and needs those
// blocks, the head could never be admitted while nothing ran, and the sibling behind it was never tried. Waiting
// sequences now let go of their blocks when the head cannot be admitted.
TEST(Scheduler, WaitingForkDoesNotStarveTheHead) {
  for (bool caching : {false, true}) {
    SCOPED_TRACE(caching ? "prefix caching" : "no prefix caching");
    Driver d(7, 4, {.max_batch_size = 8, .max_prefill_token_num = 64}, caching);
    Sequence* a = d.add(8, 13);
    Sequence* b0 = d.add(16, 20);
    d.step();  // both prefilled: 2 + 4 blocks, 1 free
    ASSERT_EQ(d.blocks.num_free_blocks(), 1);
    // What the engine does for n = 2 after the first token: the sibling shares the full prompt blocks and waits
    // at the front.
    auto sibling = std::make_unique<Sequence>();
    sibling->id = d.next_id++;
    sibling->token_ids.assign(b0->token_ids.begin(), b0->token_ids.begin() + 16);
    sibling->num_prompt_tokens = 16;
    sibling->max_tokens = 20;
    d.blocks.fork(*b0, *sibling, 16);
    Sequence* b1 = sibling.get();
    d.scheduler.add_front(b1);
    d.seqs.push_back(std::move(sibling));
    ASSERT_FALSE(b1->block_table.empty());
    StepPlan plan = d.step();  // a takes the last block, b0 is preempted and goes in front of b1
    ASSERT_EQ(plan.preempted, std::vector<Sequence*>{b0});
    int steps = 0;
    while (d.scheduler.has_work() && steps < 500) {
      d.step();
      ++steps;
    }
    EXPECT_FALSE(d.scheduler.has_work()) << "no progress after " << steps << " steps";
    EXPECT_EQ(a->num_tokens(), 13);
    EXPECT_EQ(b0->num_tokens(), 20);
    EXPECT_EQ(b1->num_tokens(), 20);
    EXPECT_EQ(d.blocks.num_used_blocks(), 0);
  }
}

TEST(Scheduler, WaitingQueueIsFcfs) {
  Driver d(4, 4, {.max_batch_size = 8, .max_prefill_token_num = 64});
  Sequence* a = d.add(9, 12);  // 3 blocks for all 11 computed tokens
  d.step();
  Sequence* b = d.add(7, 8);  // needs 2 blocks, 1 free
  Sequence* c = d.add(2, 3);  // would fit, but must not overtake b
  StepPlan plan = d.step();
  EXPECT_EQ(plan.seqs.size(), 1u);
  EXPECT_EQ(c->status, SequenceStatus::kWaiting);
  EXPECT_TRUE(b->block_table.empty());
  while (d.scheduler.has_work()) d.step();
  EXPECT_EQ(a->status, SequenceStatus::kFinished);
  EXPECT_EQ(b->num_tokens(), 8);
  EXPECT_EQ(c->num_tokens(), 3);
  // b waited several steps: its prefix lookup counts once, when it was admitted (not once per step).
  EXPECT_EQ(d.blocks.queried_tokens(), 9 + 7 + 2);
}

TEST(Scheduler, PrefixCacheHitThroughTheScheduler) {
  Driver d(64, 4, {.max_batch_size = 8, .max_prefill_token_num = 64});
  std::vector<int32_t> prompt(18, 7);
  for (int i = 0; i < 18; ++i) prompt[i] = i;
  Sequence* a = d.add(prompt, 19);
  while (d.scheduler.has_work()) d.step();
  Sequence* b = d.add(prompt, 19);
  StepPlan plan = d.step();
  ASSERT_EQ(plan.seqs.size(), 1u);
  EXPECT_EQ(b->num_cached_prompt_tokens, 16);
  EXPECT_EQ(plan.seqs[0].num_new_tokens, 2);
  EXPECT_EQ(a->num_cached_prompt_tokens, 0);
  EXPECT_EQ(d.blocks.hit_tokens(), 16);
}

TEST(Scheduler, RemoveFreesEveryBlock) {
  for (bool caching : {false, true}) {
    Driver d(32, 4, {.max_batch_size = 8, .max_prefill_token_num = 6}, caching);
    Sequence* decoding = d.add(5, 100);
    d.step();
    d.step();
    Sequence* mid_prefill = d.add(20, 100);
    Sequence* waiting = d.add(20, 100);
    d.step();
    EXPECT_GT(mid_prefill->num_computed_tokens, 0);
    EXPECT_LT(mid_prefill->num_computed_tokens, 20);
    for (Sequence* s : {mid_prefill, decoding, waiting}) d.scheduler.remove(s);
    EXPECT_EQ(d.blocks.num_used_blocks(), 0);
    EXPECT_EQ(d.blocks.num_free_blocks(), 32);
    EXPECT_FALSE(d.scheduler.has_work());
  }
}

TEST(Scheduler, RandomizedStressHasNoBlockLeaks) {
  std::mt19937 rng(1234);
  for (bool caching : {false, true}) {
    Driver d(24, 4, {.max_batch_size = 6, .max_prefill_token_num = 10}, caching);
    std::vector<Sequence*> live;
    int ops = 0;
    for (; ops < 6000; ++ops) {
      int op = static_cast<int>(rng() % 10);
      if (op < 3) {
        // Shared prefixes (first token from a small set) exercise the prefix cache.
        int32_t len = 1 + static_cast<int32_t>(rng() % 30);
        std::vector<int32_t> prompt(len);
        int32_t family = static_cast<int32_t>(rng() % 3);
        for (int32_t i = 0; i < len; ++i) prompt[i] = family * 100 + i;
        live.push_back(d.add(prompt, len + 1 + static_cast<int32_t>(rng() % 20)));
      } else if (op < 4 && !live.empty()) {
        size_t i = rng() % live.size();
        if (live[i]->status != SequenceStatus::kFinished) d.scheduler.remove(live[i]);
        live.erase(live.begin() + static_cast<std::ptrdiff_t>(i));
      } else {
        d.step();
      }
      std::erase_if(live, [](Sequence* s) { return s->status == SequenceStatus::kFinished; });
    }
    while (d.scheduler.has_work()) d.step();
    EXPECT_EQ(d.blocks.num_used_blocks(), 0);
    EXPECT_EQ(d.blocks.num_free_blocks(), 24);
    for (const auto& s : d.seqs) {
      if (s->num_tokens() < s->max_tokens) continue;  // cancelled
      // Completed sequences have exactly the tokens the deterministic fake model gives.
      for (int32_t i = s->num_prompt_tokens; i < s->num_tokens(); ++i) {
        Sequence prefix = *s;
        prefix.token_ids.resize(i);
        ASSERT_EQ(s->token_ids[i], Driver::next_token(prefix));
      }
    }
  }
}

}  // namespace
}  // namespace turbolm
