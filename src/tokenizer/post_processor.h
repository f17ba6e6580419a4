// tokenizer.json "post_processor": adds BOS/EOS-style special tokens when encode() is asked to.
#pragma once

#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <vector>

namespace turbolm {

// The ids a post-processor puts before and after a single sequence.
struct SpecialTokenTemplate {
  std::vector<int32_t> prefix;
  std::vector<int32_t> suffix;
};

// Reads TemplateProcessing, RobertaProcessing, BertProcessing, ByteLevel (adds nothing) and Sequence.
SpecialTokenTemplate parse_post_processor(const nlohmann::json& spec);

}  // namespace turbolm
