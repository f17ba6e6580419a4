// Reads tokenizer.json fast: the model's vocab and merges (hundreds of thousands of entries) are streamed into flat
// vectors by a SAX handler instead of nlohmann's std::map-based DOM, which took seconds for Qwen's 11 MB file.
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

namespace turbolm {

struct TokenizerJson {
  nlohmann::json doc;  // everything, with model.vocab left as {} and model.merges as []
  std::vector<std::pair<std::string, int32_t>> vocab;
  std::vector<std::pair<std::string, std::string>> merges;  // "a b" strings are split at the first space
};

TokenizerJson read_tokenizer_json(const std::filesystem::path& file);

}  // namespace turbolm
