// tokenizer.json "decoder": turns token strings back into text. Like tokenizers' decode_chain, each step maps a
// list of per-token strings to a new list; the final text is their concatenation.
#pragma once

#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

namespace turbolm {

class Decoder {
 public:
  virtual ~Decoder() = default;
  virtual void decode_chain(std::vector<std::string>& tokens) const = 0;
};

// Builds the decoder described by a tokenizer.json "decoder" object; null JSON gives nullptr.
std::unique_ptr<Decoder> make_decoder(const nlohmann::json& spec);

}  // namespace turbolm
