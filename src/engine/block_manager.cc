#include "engine/block_manager.h"

#include <algorithm>

#include "core/error.h"

namespace turbolm {

uint64_t hash_block(uint64_t parent_hash, const int32_t* tokens, int32_t count) {
  uint64_t h = parent_hash ^ 0x9e3779b97f4a7c15ull;
  for (int32_t i = 0; i < count; ++i) {
    h ^= static_cast<uint32_t>(tokens[i]);
    h *= 0x100000001b3ull;  // FNV prime
    h ^= h >> 29;
  }
  h = (h ^ (h >> 30)) * 0xbf58476d1ce4e5b9ull;  // splitmix finaliser
  h = (h ^ (h >> 27)) * 0x94d049bb133111ebull;
  return h ^ (h >> 31);
}

BlockManager::BlockManager(int64_t num_blocks, int32_t block_size, bool enable_prefix_caching)
    : block_size_(block_size), prefix_caching_(enable_prefix_caching), blocks_(num_blocks) {
  TLM_CHECK_GT(num_blocks, 0);
  TLM_CHECK_GT(block_size, 0);
  // Pop order = ascending block ids, which keeps tests and logs readable.
  for (int64_t b = num_blocks - 1; b >= 0; --b) free_.push_back(static_cast<int32_t>(b));
}

int32_t BlockManager::take_block() {
  int32_t b;
  if (!free_.empty()) {
    b = free_.back();
    free_.pop_back();
  } else {
    TLM_CHECK(!evictable_.empty()) << "no block left";
    b = evictable_.front();
    evictable_.pop_front();
    Block& block = blocks_[b];
    cached_.erase(block.hash);
    block.hashed = false;
    block.tokens.clear();
  }
  blocks_[b].ref_count = 1;
  return b;
}

void BlockManager::unref(int32_t b) {
  Block& block = blocks_[b];
  TLM_CHECK_GT(block.ref_count, 0) << "block " << b;
  if (--block.ref_count > 0) return;
  if (block.hashed) {
    block.lru_pos = evictable_.insert(evictable_.end(), b);
  } else {
    free_.push_back(b);
  }
}

void BlockManager::count_lookup(int32_t queried, int32_t hit) {
  if (!prefix_caching_) return;
  queried_tokens_ += queried;
  hit_tokens_ += hit;
}

int32_t BlockManager::match_prefix(Sequence& seq, bool count) {
  TLM_CHECK(seq.block_table.empty()) << "sequence " << seq.id << " already holds blocks";
  if (!prefix_caching_) return 0;
  uint64_t parent = 0;
  // Only blocks that end before the last token: it must be computed to produce logits.
  for (int32_t start = 0; start + block_size_ <= seq.num_tokens() - 1; start += block_size_) {
    const int32_t* tokens = seq.token_ids.data() + start;
    uint64_t h = hash_block(parent, tokens, block_size_);
    auto it = cached_.find(h);
    if (it == cached_.end()) break;
    Block& block = blocks_[it->second];
    if (block.parent_hash != parent || !std::equal(block.tokens.begin(), block.tokens.end(), tokens)) break;
    if (block.ref_count++ == 0) evictable_.erase(block.lru_pos);
    seq.block_table.push_back(it->second);
    seq.block_hashes.push_back(h);
    parent = h;
  }
  seq.num_computed_tokens = static_cast<int32_t>(seq.block_table.size()) * block_size_;
  if (count) count_lookup(seq.num_tokens(), seq.num_computed_tokens);
  return seq.num_computed_tokens;
}

bool BlockManager::allocate(Sequence& seq, int32_t num_tokens) {
  int64_t needed = blocks_for(num_tokens) - static_cast<int64_t>(seq.block_table.size());
  if (needed > num_free_blocks()) return false;
  for (int64_t i = 0; i < needed; ++i) seq.block_table.push_back(take_block());
  return true;
}

void BlockManager::commit(Sequence& seq) {
  for (auto j = static_cast<int32_t>(seq.block_hashes.size()); (j + 1) * block_size_ <= seq.num_computed_tokens; ++j) {
    uint64_t parent = j == 0 ? 0 : seq.block_hashes[j - 1];
    const int32_t* tokens = seq.token_ids.data() + j * block_size_;
    uint64_t h = hash_block(parent, tokens, block_size_);
    seq.block_hashes.push_back(h);
    Block& block = blocks_[seq.block_table[j]];
    // A block computed twice concurrently (two equal prompts in one step) keeps the first registration.
    if (!prefix_caching_ || block.hashed || cached_.count(h) != 0) continue;
    block.hashed = true;
    block.hash = h;
    block.parent_hash = parent;
    block.tokens.assign(tokens, tokens + block_size_);
    cached_[h] = seq.block_table[j];
  }
}

void BlockManager::free(Sequence& seq) {
  for (auto it = seq.block_table.rbegin(); it != seq.block_table.rend(); ++it) unref(*it);
  seq.block_table.clear();
  seq.block_hashes.clear();
  seq.num_computed_tokens = 0;
}

void BlockManager::fork(const Sequence& parent, Sequence& child, int32_t num_tokens) {
  TLM_CHECK(child.block_table.empty());
  // Full blocks only (a partial block would be written by both), and never the child's last token.
  int32_t shared = std::min<int32_t>(static_cast<int32_t>(parent.block_hashes.size()), (num_tokens - 1) / block_size_);
  for (int32_t j = 0; j < shared; ++j) {
    ++blocks_[parent.block_table[j]].ref_count;
    child.block_table.push_back(parent.block_table[j]);
    child.block_hashes.push_back(parent.block_hashes[j]);
  }
  child.num_computed_tokens = shared * block_size_;
}

}  // namespace turbolm
