// Added tokens (tokenizer.json "added_tokens"): found in the raw text before normalization (or in the normalized
// text for `normalized` tokens) and never split further, like tokenizers' AddedVocabulary.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace turbolm {

class Normalizer;

struct AddedToken {
  std::string content;
  int32_t id = -1;
  bool special = false;
  bool lstrip = false;       // the match swallows whitespace on its left
  bool rstrip = false;       // ... and on its right
  bool normalized = false;   // matched in normalized text instead of raw text
  bool single_word = false;  // only when not glued to a word character on either side
};

// One piece of input after added-token extraction: either an added token (id >= 0) or normalized text.
struct TextPart {
  std::string text;
  int32_t id = -1;
  bool at_start = false;  // begins at offset 0 of the original input
};

class AddedVocabulary {
 public:
  AddedVocabulary();
  ~AddedVocabulary();
  AddedVocabulary(AddedVocabulary&&) noexcept;
  AddedVocabulary& operator=(AddedVocabulary&&) noexcept;

  void add(AddedToken token);
  // Must run after the last add() and before split(); `normalizer` may be null.
  void build(const Normalizer* normalizer);
  // Splits text (valid UTF-8) into added tokens and normalized text parts.
  std::vector<TextPart> split(std::string_view text, const Normalizer* normalizer) const;

  const AddedToken* find(int32_t id) const;
  const AddedToken* find(std::string_view content) const;
  const std::vector<AddedToken>& tokens() const { return tokens_; }

 private:
  struct Trie;
  struct Match {
    size_t begin, end;
    int32_t id;
  };
  std::vector<Match> find_matches(std::string_view text, const Trie& trie) const;

  std::vector<AddedToken> tokens_;
  std::unordered_map<int32_t, size_t> by_id_;
  std::unordered_map<std::string, size_t> by_content_;
  std::unique_ptr<Trie> raw_trie_, normalized_trie_;
};

}  // namespace turbolm
