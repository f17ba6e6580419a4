// WordPiece (BERT): greedy longest-match-first over each word, continuation pieces prefixed with "##".
#pragma once

#include "tokenizer/model.h"
#include "tokenizer/vocab.h"

namespace turbolm {

class WordPieceModel final : public TokenizerModel {
 public:
  WordPieceModel(Vocab vocab, std::string unk_token, std::string prefix, size_t max_chars_per_word);
  void tokenize(std::string_view word, std::vector<int32_t>& out) const override;
  std::optional<int32_t> token_to_id(std::string_view token) const override { return vocab_.find(token); }
  const std::string* id_to_token(int32_t id) const override { return vocab_.token(id); }
  int32_t vocab_size() const override { return vocab_.size(); }

 private:
  Vocab vocab_;
  std::string unk_token_;
  std::string prefix_;
  size_t max_chars_per_word_;
};

}  // namespace turbolm
