// tokenizer.json "pre_tokenizer": splits a normalized segment into the words the model encodes independently.
#pragma once

#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

namespace turbolm {

struct PreToken {
  std::string text;
  bool at_start;  // begins at offset 0 of the original input (Metaspace's prepend_scheme "first" needs it)
};

class PreTokenizer {
 public:
  virtual ~PreTokenizer() = default;
  // Replaces `pieces` with their splits, in order; empty pieces are dropped.
  virtual void pre_tokenize(std::vector<PreToken>& pieces) const = 0;
};

// Builds the pre-tokenizer described by a tokenizer.json "pre_tokenizer" object; null JSON gives nullptr.
std::unique_ptr<PreTokenizer> make_pre_tokenizer(const nlohmann::json& spec);
// The ByteLevel pre-tokenizer as GPT-2 folders (vocab.json + merges.txt) need it.
std::unique_ptr<PreTokenizer> make_byte_level_pre_tokenizer(bool add_prefix_space, bool use_regex);

}  // namespace turbolm
