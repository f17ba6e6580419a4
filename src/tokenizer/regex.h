// A compiled PCRE2 pattern (UTF + Unicode properties, JIT when available) for the Split pre-tokenizer and
// Replace normalizer. Patterns come from tokenizer.json, written for Oniguruma/Rust regex; PCRE2 accepts the
// constructs real tokenizers use (\p{L}, \p{N}, (?i:...), lookahead).
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace turbolm {

class Regex {
 public:
  explicit Regex(const std::string& pattern);
  ~Regex();
  Regex(const Regex&) = delete;
  Regex& operator=(const Regex&) = delete;

  // Appends the [begin, end) byte ranges of all non-overlapping matches in text (valid UTF-8) to out.
  void find_all(std::string_view text, std::vector<std::pair<size_t, size_t>>& out) const;
  static std::string escape(std::string_view literal);
  // The pattern with Oniguruma's meaning of \s and \S (Unicode White_Space) spelled out for PCRE2.
  static std::string oniguruma_to_pcre2(std::string_view pattern);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace turbolm
