// Streamed text is scanned for tags (<tool_call>, </think>) whose first characters may arrive before the rest.
#pragma once

#include <algorithm>
#include <string>
#include <string_view>

namespace turbolm::server {

// The length of the longest end of `text` that is the start of `tag` (shorter than the tag): text that may still
// become the tag once more arrives, so it is held back.
inline size_t partial_tag_at_end(std::string_view text, std::string_view tag) {
  for (size_t n = std::min(text.size(), tag.size() - 1); n > 0; --n) {
    if (text.substr(text.size() - n) == tag.substr(0, n)) return n;
  }
  return 0;
}

// Removes from `pending` and returns all of it but a partial `tag` at its end, which stays for the next piece.
inline std::string take_all_but_partial_tag(std::string& pending, std::string_view tag) {
  const size_t keep = partial_tag_at_end(pending, tag);
  std::string taken = pending.substr(0, pending.size() - keep);
  pending.erase(0, pending.size() - keep);
  return taken;
}

}  // namespace turbolm::server
