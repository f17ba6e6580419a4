// tokenizer.json "normalizer": rewrites each text segment before pre-tokenization.
#pragma once

#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <string>

namespace turbolm {

class Normalizer {
 public:
  virtual ~Normalizer() = default;
  virtual void normalize(std::string& text) const = 0;
};

// Builds the normalizer described by a tokenizer.json "normalizer" object; null JSON gives nullptr.
std::unique_ptr<Normalizer> make_normalizer(const nlohmann::json& spec);

}  // namespace turbolm
