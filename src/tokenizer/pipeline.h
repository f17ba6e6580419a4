// The stages of one tokenizer, in the order tokenizers runs them. Every file format loads into this.
#pragma once

#include <filesystem>
#include <memory>
#include <unordered_set>

#include "tokenizer/added_vocabulary.h"
#include "tokenizer/decoder.h"
#include "tokenizer/model.h"
#include "tokenizer/normalizer.h"
#include "tokenizer/post_processor.h"
#include "tokenizer/pre_tokenizer.h"

namespace turbolm {

struct TokenizerPipeline {
  std::unique_ptr<Normalizer> normalizer;
  std::unique_ptr<PreTokenizer> pre_tokenizer;
  std::unique_ptr<TokenizerModel> model;
  std::unique_ptr<Decoder> decoder;  // null: tokens joined with spaces
  SpecialTokenTemplate special_tokens;
  AddedVocabulary added;
  // Byte tokens (<0xXX>) that a ByteFallback decoder merges with their neighbours; the streaming detokenizer
  // must not cut a window inside a run of them.
  std::unordered_set<int32_t> byte_fallback_ids;
};

std::unique_ptr<TokenizerPipeline> load_tokenizer_json(const std::filesystem::path& file);
std::unique_ptr<TokenizerPipeline> load_sentencepiece_model(const std::filesystem::path& file);
std::unique_ptr<TokenizerPipeline> load_vocab_and_merges(const std::filesystem::path& vocab_json,
                                                         const std::filesystem::path& merges_txt);

}  // namespace turbolm
