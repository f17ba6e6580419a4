#include "engine/block_manager.h"

#include <gtest/gtest.h>

#include <numeric>

namespace turbolm {
namespace {

Sequence make_seq(uint64_t id, std::vector<int32_t> tokens) {
  Sequence s;
  s.id = id;
  s.num_prompt_tokens = static_cast<int32_t>(tokens.size());
  s.token_ids = std::move(tokens);
  return s;
}

std::vector<int32_t> iota_tokens(int n, int start = 0) {
  std::vector<int32_t> t(n);
  std::iota(t.begin(), t.end(), start);
  return t;
}

// Pretends the whole sequence was computed (what the scheduler + forward pass do).
void compute_all(BlockManager& bm, Sequence& s) {
  ASSERT_TRUE(bm.allocate(s, s.num_tokens()));
  s.num_computed_tokens = s.num_tokens();
  bm.commit(s);
}

TEST(BlockManager, AllocateAndFree) {
  BlockManager bm(8, 4, true);
  Sequence s = make_seq(1, iota_tokens(9));
  EXPECT_TRUE(bm.allocate(s, 9));
  EXPECT_EQ(s.block_table.size(), 3u);
  EXPECT_EQ(bm.num_used_blocks(), 3);
  EXPECT_TRUE(bm.allocate(s, 12));  // still 3 blocks
  EXPECT_EQ(bm.num_used_blocks(), 3);
  Sequence big = make_seq(2, iota_tokens(24));
  EXPECT_FALSE(bm.allocate(big, 24));  // 6 > 5 free: nothing taken
  EXPECT_TRUE(big.block_table.empty());
  EXPECT_EQ(bm.num_used_blocks(), 3);
  bm.free(s);
  EXPECT_EQ(bm.num_used_blocks(), 0);
  EXPECT_TRUE(s.block_table.empty());
}

TEST(BlockManager, PrefixReuseAndCounters) {
  BlockManager bm(16, 4, true);
  Sequence a = make_seq(1, iota_tokens(10));  // blocks [0..3] [4..7] full, [8 9] partial
  compute_all(bm, a);
  EXPECT_EQ(a.block_hashes.size(), 2u);

  Sequence b = make_seq(2, iota_tokens(10));
  b.token_ids[9] = 99;  // same first 9 tokens
  EXPECT_EQ(bm.match_prefix(b), 8);
  EXPECT_EQ(b.num_computed_tokens, 8);
  EXPECT_EQ(b.block_table[0], a.block_table[0]);
  EXPECT_EQ(b.block_table[1], a.block_table[1]);
  EXPECT_EQ(bm.ref_count(a.block_table[0]), 2);
  EXPECT_EQ(bm.queried_tokens(), 10);
  EXPECT_EQ(bm.hit_tokens(), 8);

  Sequence c = make_seq(3, iota_tokens(10, 1));  // different first block: no hit
  EXPECT_EQ(bm.match_prefix(c), 0);
  EXPECT_EQ(bm.queried_tokens(), 20);
  EXPECT_EQ(bm.hit_tokens(), 8);
}

TEST(BlockManager, FullyCachedPromptStillComputesLastToken) {
  BlockManager bm(16, 4, true);
  Sequence a = make_seq(1, iota_tokens(8));  // exactly two blocks
  compute_all(bm, a);
  Sequence b = make_seq(2, iota_tokens(8));
  EXPECT_EQ(bm.match_prefix(b), 4);  // the second block holds the last token: recomputed
  EXPECT_EQ(b.num_uncomputed(), 4);
}

TEST(BlockManager, SameTokensDifferentPrefixDoNotMatch) {
  BlockManager bm(16, 4, true);
  Sequence a = make_seq(1, {1, 2, 3, 4, 5, 6, 7, 8, 0});
  compute_all(bm, a);
  Sequence b = make_seq(2, {9, 9, 9, 9, 5, 6, 7, 8, 0});  // block 1 equal, parent differs
  EXPECT_EQ(bm.match_prefix(b), 0);
}

TEST(BlockManager, FreedCachedBlocksStayReusableUntilEvictedLru) {
  BlockManager bm(6, 4, true);
  Sequence a = make_seq(1, iota_tokens(13));  // 3 full blocks + 1 partial = 4 blocks
  compute_all(bm, a);
  std::vector<int32_t> a_blocks = a.block_table;
  bm.free(a);
  EXPECT_EQ(bm.num_used_blocks(), 0);
  EXPECT_EQ(bm.num_evictable_blocks(), 3);  // the partial block went to the free list

  // 3 free blocks (2 never used + a's partial) go first, then the LRU evictable: a's last full block first.
  Sequence x = make_seq(2, iota_tokens(16, 100));
  ASSERT_TRUE(bm.allocate(x, 16));
  EXPECT_EQ(bm.num_evictable_blocks(), 2);
  EXPECT_EQ(x.block_table[3], a_blocks[2]);

  Sequence again = make_seq(3, iota_tokens(13));
  EXPECT_EQ(bm.match_prefix(again), 8);  // the first two blocks survived
  EXPECT_EQ(again.block_table[0], a_blocks[0]);
  EXPECT_EQ(again.block_table[1], a_blocks[1]);
  EXPECT_EQ(bm.num_evictable_blocks(), 0);
  EXPECT_EQ(bm.num_free_blocks(), 0);
  bm.free(x);
  bm.free(again);
  EXPECT_EQ(bm.num_used_blocks(), 0);
}

TEST(BlockManager, WithoutPrefixCachingNothingIsShared) {
  BlockManager bm(8, 4, false);
  Sequence a = make_seq(1, iota_tokens(9));
  compute_all(bm, a);
  bm.free(a);
  EXPECT_EQ(bm.num_evictable_blocks(), 0);
  Sequence b = make_seq(2, iota_tokens(9));
  EXPECT_EQ(bm.match_prefix(b), 0);
  EXPECT_EQ(bm.queried_tokens(), 0);
}

TEST(BlockManager, ForkSharesFullComputedBlocks) {
  for (bool caching : {false, true}) {
    BlockManager bm(8, 4, caching);
    Sequence parent = make_seq(1, iota_tokens(10));
    compute_all(bm, parent);
    Sequence child = make_seq(2, iota_tokens(10));
    bm.fork(parent, child, 10);
    EXPECT_EQ(child.num_computed_tokens, 8);
    EXPECT_EQ(bm.ref_count(parent.block_table[1]), 2);
    ASSERT_TRUE(bm.allocate(child, 10));
    EXPECT_NE(child.block_table[2], parent.block_table[2]);  // partial block is private
    bm.free(parent);
    bm.free(child);
    EXPECT_EQ(bm.num_used_blocks(), 0);
  }
}

}  // namespace
}  // namespace turbolm
