// Streaming detokenization with a short window, like vLLM's prefix/read offsets: the text of new ids is the
// decode of the window minus the decode of its already-emitted part. The window start (anchor) only moves to a
// point where decoding from there cannot change later text: not inside a run of byte-fallback tokens, not inside a
// UTF-8 sequence, and where the anchored prefix still yields text (so first-token rules such as Strip or
// Metaspace's leading-space removal stay inside the emitted part).
#include <algorithm>

#include "core/error.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/unicode.h"

namespace turbolm {

namespace {
bool ends_with_replacement(const std::string& s) {
  return s.size() >= 3 && s.compare(s.size() - 3, 3, "\xEF\xBF\xBD") == 0;
}
}  // namespace

IncrementalDetokenizer::IncrementalDetokenizer(const Tokenizer& tok, bool skip_special_tokens,
                                               bool spaces_between_special_tokens, std::span<const int32_t> context)
    : tok_(tok),
      skip_special_tokens_(skip_special_tokens),
      spaces_between_special_tokens_(spaces_between_special_tokens) {
  constexpr size_t kContextIds = 6;  // enough for a word's pieces; vLLM takes 5
  const size_t n = std::min(kContextIds, context.size());
  ids_.assign(context.end() - static_cast<std::ptrdiff_t>(n), context.end());
  if (ids_.empty()) return;
  if (tok_.is_byte_fallback(ids_.back()) || ends_with_replacement(decode_range(0, ids_.size()))) {
    ids_.clear();  // the tail's text is not final yet: start without it
    return;
  }
  read_ = ids_.size();
}

std::string IncrementalDetokenizer::decode_range(size_t begin, size_t end) const {
  return tok_.decode(std::span<const int32_t>(ids_).subspan(begin, end - begin), skip_special_tokens_,
                     spaces_between_special_tokens_);
}

std::string IncrementalDetokenizer::push(int32_t id) {
  ids_.push_back(id);
  // Ids that decode to nothing (skipped specials, unknown ids) are transparent: a byte run continues across them.
  if ((skip_special_tokens_ && tok_.is_special(id)) || tok_.id_to_token(id).empty()) return {};
  in_byte_run_ = tok_.is_byte_fallback(id);
  if (in_byte_run_) return {};  // the byte run may continue; its text is decided when it ends
  const std::string emitted = decode_range(0, read_);
  const std::string full = decode_range(0, ids_.size());
  if (ends_with_replacement(full)) return {};  // possibly an incomplete UTF-8 sequence
  if (full.size() <= emitted.size() || full.compare(0, emitted.size(), emitted) != 0) return {};
  std::string delta = full.substr(emitted.size());

  const size_t anchor = read_;
  read_ = ids_.size();
  if (anchor > 0) {
    const std::string anchored = decode_range(anchor, ids_.size());
    if (!anchored.empty() && full.size() >= anchored.size() &&
        full.compare(full.size() - anchored.size(), anchored.size(), anchored) == 0) {
      ids_.erase(ids_.begin(), ids_.begin() + static_cast<std::ptrdiff_t>(anchor));
      read_ -= anchor;
    }
  }
  return delta;
}

std::vector<std::string> IncrementalDetokenizer::peek(std::span<const int32_t> ids) const {
  const std::string before = tok_.decode(ids_, false, spaces_between_special_tokens_);  // once for all ids
  std::vector<int32_t> window = ids_;
  window.push_back(0);
  std::vector<std::string> texts;
  texts.reserve(ids.size());
  for (const int32_t& id : ids) {
    window.back() = id;
    const std::string after = tok_.decode(window, false, spaces_between_special_tokens_);
    const bool continues = after.size() >= before.size() && after.compare(0, before.size(), before) == 0;
    texts.push_back(continues ? after.substr(before.size())
                              : tok_.decode(std::span<const int32_t>(&id, 1), false, spaces_between_special_tokens_));
  }
  return texts;
}

std::string IncrementalDetokenizer::finish() {
  const std::string emitted = decode_range(0, read_);
  const std::string full = decode_range(0, ids_.size());
  ids_.clear();
  read_ = 0;
  in_byte_run_ = false;
  TLM_CHECK(full.compare(0, emitted.size(), emitted) == 0) << "streamed text diverged from the full decode";
  return full.substr(emitted.size());
}

}  // namespace turbolm
