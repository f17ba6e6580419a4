// The KV block pool: which physical blocks each sequence holds, reference counts, and the prefix cache.
// Host bookkeeping only; the K/V data live in ops::KvCache at the same block indices.
//
// A block is in exactly one of three states:
//   in use      ref_count > 0 (shared by every sequence whose block table lists it)
//   evictable   ref_count == 0, hashed: its K/V still serve prefix-cache hits until reused (LRU order)
//   free        ref_count == 0, unhashed
// Full, computed blocks are hashed by hash(parent block's hash, the block's token ids), so equal hashes mean
// equal prefixes (the parent hash and the tokens are also compared on a hit).
#pragma once

#include <cstdint>
#include <list>
#include <unordered_map>
#include <vector>

#include "engine/sequence.h"

namespace turbolm {

class BlockManager {
 public:
  BlockManager(int64_t num_blocks, int32_t block_size, bool enable_prefix_caching);

  int32_t block_size() const { return block_size_; }
  int64_t num_blocks() const { return static_cast<int64_t>(blocks_.size()); }
  int64_t num_free_blocks() const { return static_cast<int64_t>(free_.size() + evictable_.size()); }
  int64_t num_used_blocks() const { return num_blocks() - num_free_blocks(); }
  int64_t num_evictable_blocks() const { return static_cast<int64_t>(evictable_.size()); }
  int64_t blocks_for(int64_t num_tokens) const { return (num_tokens + block_size_ - 1) / block_size_; }

  // For a sequence holding no blocks: takes the longest cached run of its full blocks, leaving at least the
  // last token to compute (its logits are needed), and sets num_computed_tokens. Returns the tokens served.
  // count = false leaves the counters to count_lookup() (the scheduler counts a lookup once, when it admits).
  int32_t match_prefix(Sequence& seq, bool count = true);
  void count_lookup(int32_t queried, int32_t hit);
  // Grows seq's block table to cover `num_tokens` tokens. Returns false, changing nothing, when short of blocks.
  bool allocate(Sequence& seq, int32_t num_tokens);
  // Hashes seq's blocks that became full and computed; with prefix caching they become shareable.
  void commit(Sequence& seq);
  // Drops seq's references (last block first, so a prefix outlives its tails in the LRU) and resets its cache
  // state: block table, hashes, num_computed_tokens.
  void free(Sequence& seq);
  // A sibling completion shares the parent's full, computed blocks among its first `num_tokens` tokens.
  void fork(const Sequence& parent, Sequence& child, int32_t num_tokens);

  // Prefix-cache counters: prompt tokens looked up, and tokens served.
  int64_t queried_tokens() const { return queried_tokens_; }
  int64_t hit_tokens() const { return hit_tokens_; }
  int32_t ref_count(int32_t block) const { return blocks_[block].ref_count; }

 private:
  struct Block {
    int32_t ref_count = 0;
    bool hashed = false;
    uint64_t hash = 0, parent_hash = 0;
    std::vector<int32_t> tokens;           // the block's token ids while hashed (verifies hits)
    std::list<int32_t>::iterator lru_pos;  // valid while evictable
  };
  int32_t take_block();  // a free block, else the least recently used evictable one (unhashing it)
  void unref(int32_t block);

  int32_t block_size_;
  bool prefix_caching_;
  std::vector<Block> blocks_;
  std::vector<int32_t> free_;
  std::list<int32_t> evictable_;                  // front = least recently used
  std::unordered_map<uint64_t, int32_t> cached_;  // block hash -> block
  int64_t queried_tokens_ = 0, hit_tokens_ = 0;
};

// Chained block hash: parent's hash and the block's token ids.
uint64_t hash_block(uint64_t parent_hash, const int32_t* tokens, int32_t count);

}  // namespace turbolm
