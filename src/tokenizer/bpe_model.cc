#include "tokenizer/bpe_model.h"

#include <fmt/format.h>

#include <queue>

#include "core/error.h"
#include "tokenizer/unicode.h"

namespace turbolm {

// (left id, right id) -> (rank, merged id), open addressing: the lookup runs once per candidate pair.
struct BpeModel::MergeTable {
  struct Entry {
    uint64_t key = kEmpty;
    int32_t rank = 0;
    int32_t id = 0;
  };
  static constexpr uint64_t kEmpty = ~uint64_t{0};
  std::vector<Entry> slots;
  uint64_t mask = 0;

  explicit MergeTable(size_t n) {
    size_t cap = 16;
    while (cap < n * 2) cap <<= 1;
    slots.resize(cap);
    mask = cap - 1;
  }
  static uint64_t key(int32_t a, int32_t b) { return (uint64_t(uint32_t(a)) << 32) | uint32_t(b); }
  static uint64_t hash(uint64_t k) {
    k ^= k >> 33;
    k *= 0xff51afd7ed558ccdULL;
    k ^= k >> 33;
    return k;
  }
  void insert(int32_t a, int32_t b, int32_t rank, int32_t id) {
    const uint64_t k = key(a, b);
    for (uint64_t i = hash(k) & mask;; i = (i + 1) & mask) {
      if (slots[i].key == k) return;  // a duplicate merge keeps its first (best) rank
      if (slots[i].key == kEmpty) {
        slots[i] = {k, rank, id};
        return;
      }
    }
  }
  const Entry* find(int32_t a, int32_t b) const {
    const uint64_t k = key(a, b);
    for (uint64_t i = hash(k) & mask;; i = (i + 1) & mask) {
      if (slots[i].key == k) return &slots[i];
      if (slots[i].key == kEmpty) return nullptr;
    }
  }
};

BpeModel::BpeModel(Vocab vocab, const std::vector<std::pair<std::string, std::string>>& merges, BpeOptions options)
    : vocab_(std::move(vocab)), options_(std::move(options)), merges_(std::make_unique<MergeTable>(merges.size())) {
  const size_t prefix_len = options_.continuing_subword_prefix.size();
  for (size_t rank = 0; rank < merges.size(); ++rank) {
    const auto& [a, b] = merges[rank];
    const auto a_id = vocab_.find(a), b_id = vocab_.find(b);
    if (!a_id || !b_id)
      TLM_FAIL(kInvalidArgument) << "BPE merge '" << a << " " << b << "' uses a token not in the vocab";
    std::string merged = a;
    merged.append(b, b.compare(0, prefix_len, options_.continuing_subword_prefix) == 0 ? prefix_len : 0);
    const auto id = vocab_.find(merged);
    if (!id)
      TLM_FAIL(kInvalidArgument) << "BPE merge '" << a << " " << b << "' makes '" << merged << "', not in the vocab";
    merges_->insert(*a_id, *b_id, static_cast<int32_t>(rank), *id);
  }
  if (options_.unk_token) unk_id_ = vocab_.find(*options_.unk_token);
  for (int b = 0; b < 256; ++b) byte_ids_[b] = vocab_.find(fmt::format("<0x{:02X}>", b)).value_or(-1);
}

BpeModel::~BpeModel() = default;

void BpeModel::tokenize(std::string_view word, std::vector<int32_t>& out) const {
  if (word.empty()) return;
  if (options_.ignore_merges) {
    if (auto id = vocab_.find(word)) {
      out.push_back(*id);
      return;
    }
  }
  if (word.size() > kMaxCachedWordBytes) {
    merge_word(word, out);
    return;
  }
  {
    std::lock_guard lock(cache_mutex_);
    if (auto it = cache_.find(std::string(word)); it != cache_.end()) {
      out.insert(out.end(), it->second.begin(), it->second.end());
      return;
    }
  }
  const size_t start = out.size();
  merge_word(word, out);
  std::lock_guard lock(cache_mutex_);
  if (cache_.size() < kCacheCapacity) cache_.emplace(word, std::vector<int32_t>(out.begin() + start, out.end()));
}

void BpeModel::merge_word(std::string_view word, std::vector<int32_t>& out) const {
  struct Symbol {
    int32_t id;
    int32_t prev, next;  // linked list over the surviving symbols
  };
  std::vector<Symbol> symbols;
  symbols.reserve(word.size());
  auto add = [&](int32_t id) {
    const auto n = static_cast<int32_t>(symbols.size());
    symbols.push_back({id, n - 1, n + 1});
  };

  // Initial symbols: one per character (tokenizers' merge_word), with byte fallback and unk fusing.
  int32_t pending_unk = -1;  // an unk waiting to be fused with the next one
  std::string piece;
  for (size_t pos = 0; pos < word.size();) {
    const size_t begin = pos;
    pos += unicode::sequence_length(static_cast<unsigned char>(word[pos]));
    pos = std::min(pos, word.size());
    std::string_view ch = word.substr(begin, pos - begin);
    std::optional<int32_t> id;
    if (options_.continuing_subword_prefix.empty() && options_.end_of_word_suffix.empty()) {
      id = vocab_.find(ch);
    } else {
      piece.assign(begin > 0 ? options_.continuing_subword_prefix : std::string());
      piece.append(ch);
      if (pos == word.size()) piece += options_.end_of_word_suffix;
      id = vocab_.find(piece);
      ch = piece;
    }
    if (id) {
      if (pending_unk >= 0) add(pending_unk), pending_unk = -1;
      add(*id);
      continue;
    }
    if (options_.byte_fallback) {
      bool all = true;
      for (unsigned char b : ch) all &= byte_ids_[b] >= 0;
      if (all) {
        if (pending_unk >= 0) add(pending_unk), pending_unk = -1;
        for (unsigned char b : ch) add(byte_ids_[b]);
        continue;
      }
    }
    if (unk_id_) {
      if (pending_unk >= 0 && !options_.fuse_unk) add(pending_unk);
      pending_unk = *unk_id_;
    }
  }
  if (pending_unk >= 0) add(pending_unk);
  if (symbols.empty()) return;
  symbols.back().next = -1;

  struct Candidate {
    int32_t rank, pos, id;
    bool operator>(const Candidate& o) const { return rank != o.rank ? rank > o.rank : pos > o.pos; }
  };
  std::priority_queue<Candidate, std::vector<Candidate>, std::greater<>> queue;
  auto push_pair = [&](int32_t left) {
    const int32_t right = symbols[left].next;
    if (left < 0 || right < 0) return;
    if (const auto* m = merges_->find(symbols[left].id, symbols[right].id)) queue.push({m->rank, left, m->id});
  };
  for (int32_t i = 0; i + 1 < static_cast<int32_t>(symbols.size()); ++i) push_pair(i);

  while (!queue.empty()) {
    const Candidate top = queue.top();
    queue.pop();
    Symbol& left = symbols[top.pos];
    if (left.id < 0 || left.next < 0) continue;  // merged away, or no right neighbour any more
    Symbol& right = symbols[left.next];
    const auto* m = merges_->find(left.id, right.id);
    if (!m || m->id != top.id) continue;  // stale: a neighbour changed since this pair was queued
    left.id = top.id;
    right.id = -1;
    left.next = right.next;
    if (right.next >= 0) symbols[right.next].prev = top.pos;
    if (left.prev >= 0) push_pair(left.prev);
    push_pair(top.pos);
  }
  for (int32_t i = 0; i >= 0; i = symbols[i].next) out.push_back(symbols[i].id);
}

}  // namespace turbolm
