#include "tokenizer/wordpiece_model.h"

#include "core/error.h"
#include "tokenizer/unicode.h"

namespace turbolm {

WordPieceModel::WordPieceModel(Vocab vocab, std::string unk_token, std::string prefix, size_t max_chars_per_word)
    : vocab_(std::move(vocab)),
      unk_token_(std::move(unk_token)),
      prefix_(std::move(prefix)),
      max_chars_per_word_(max_chars_per_word) {
  if (!vocab_.find(unk_token_))
    TLM_FAIL(kInvalidArgument) << "WordPiece unk_token '" << unk_token_ << "' is not in the vocab";
}

void WordPieceModel::tokenize(std::string_view word, std::vector<int32_t>& out) const {
  const int32_t unk = *vocab_.find(unk_token_);
  size_t chars = 0;
  for (size_t pos = 0; pos < word.size(); pos += unicode::sequence_length(static_cast<unsigned char>(word[pos])))
    ++chars;
  if (chars > max_chars_per_word_) {
    out.push_back(unk);
    return;
  }
  std::vector<int32_t> pieces;
  std::string candidate;
  for (size_t start = 0; start < word.size();) {
    std::optional<int32_t> found;
    size_t end = word.size();
    while (end > start) {
      candidate.assign(start > 0 ? prefix_ : std::string());
      candidate.append(word.substr(start, end - start));
      if ((found = vocab_.find(candidate))) break;
      // step back one code point
      do --end;
      while (end > start && (static_cast<unsigned char>(word[end]) & 0xC0) == 0x80);
    }
    if (!found) {  // any unknown piece makes the whole word unknown
      out.push_back(unk);
      return;
    }
    pieces.push_back(*found);
    start = end;
  }
  out.insert(out.end(), pieces.begin(), pieces.end());
}

}  // namespace turbolm
