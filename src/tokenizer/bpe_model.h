// Byte-pair encoding as Hugging Face tokenizers implements it: byte-level (GPT-2, Qwen) and SentencePiece-style
// (Llama, Mistral: `▁`, byte_fallback, fuse_unk), with ignore_merges and subword prefix/suffix.
#pragma once

#include <array>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "tokenizer/model.h"
#include "tokenizer/vocab.h"

namespace turbolm {

struct BpeOptions {
  std::optional<std::string> unk_token;
  std::string continuing_subword_prefix;
  std::string end_of_word_suffix;
  bool fuse_unk = false;
  bool byte_fallback = false;
  bool ignore_merges = false;
};

class BpeModel final : public TokenizerModel {
 public:
  // merges: pairs of token strings in priority order; each concatenation must be in the vocab.
  BpeModel(Vocab vocab, const std::vector<std::pair<std::string, std::string>>& merges, BpeOptions options);
  ~BpeModel() override;
  void tokenize(std::string_view word, std::vector<int32_t>& out) const override;
  std::optional<int32_t> token_to_id(std::string_view token) const override { return vocab_.find(token); }
  const std::string* id_to_token(int32_t id) const override { return vocab_.token(id); }
  int32_t vocab_size() const override { return vocab_.size(); }

 private:
  struct MergeTable;
  void merge_word(std::string_view word, std::vector<int32_t>& out) const;

  Vocab vocab_;
  BpeOptions options_;
  std::unique_ptr<MergeTable> merges_;
  std::optional<int32_t> unk_id_;
  std::array<int32_t, 256> byte_ids_;  // <0xXX> ids for byte_fallback, -1 when missing

  // Words repeat a lot in real text; caching their ids is most of BPE's speed (tokenizers does the same).
  static constexpr size_t kCacheCapacity = 1 << 16;
  static constexpr size_t kMaxCachedWordBytes = 256;  // long words rarely repeat; caching them only costs memory
  mutable std::mutex cache_mutex_;
  mutable std::unordered_map<std::string, std::vector<int32_t>> cache_;
};

}  // namespace turbolm
