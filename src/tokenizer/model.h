// tokenizer.json "model": turns one pre-tokenized word into ids. BPE and WordPiece are ours; a SentencePiece
// .model file is wrapped as a TokenizerModel too, so every backend shares the added-token, post-processor and decoder
// code.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace turbolm {

class TokenizerModel {
 public:
  virtual ~TokenizerModel() = default;
  // Appends the ids of `word` to out. Thread-safe.
  virtual void tokenize(std::string_view word, std::vector<int32_t>& out) const = 0;
  virtual std::optional<int32_t> token_to_id(std::string_view token) const = 0;
  // The token string of id, or nullptr when the model has no such id.
  virtual const std::string* id_to_token(int32_t id) const = 0;
  virtual int32_t vocab_size() const = 0;  // max id + 1
};

}  // namespace turbolm
