#define PCRE2_CODE_UNIT_WIDTH 8
#include "tokenizer/regex.h"

#include <pcre2.h>

#include "core/error.h"

namespace turbolm {

struct Regex::Impl {
  pcre2_code* code = nullptr;
  bool jit = false;
  std::string pattern;
};

namespace {
// Match data is reused per thread: allocating it per call would dominate short pre-token matches.
struct MatchData {
  pcre2_match_data* data = nullptr;
  MatchData() { data = pcre2_match_data_create(16, nullptr); }
  ~MatchData() { pcre2_match_data_free(data); }
};
// Unicode's White_Space characters, what Oniguruma's \s matches. PCRE2 10.42's \s also takes U+180E (Mongolian
// vowel separator, whitespace only before Unicode 6.3): " \u180e1" split differently from Hugging Face.
constexpr std::string_view kWhiteSpace =
    "\\t\\n\\x{0B}\\f\\r\\x{20}\\x{85}\\x{A0}\\x{1680}\\x{2000}-\\x{200A}\\x{2028}\\x{2029}\\x{202F}\\x{205F}\\x{3000}";

}  // namespace

std::string Regex::oniguruma_to_pcre2(std::string_view pattern) {
  std::string out;
  bool in_class = false;
  for (size_t i = 0; i < pattern.size(); ++i) {
    const char c = pattern[i];
    if (c == '\\' && i + 1 < pattern.size()) {
      const char next = pattern[++i];
      if (next == 's') {
        out += in_class ? std::string(kWhiteSpace) : "[" + std::string(kWhiteSpace) + "]";
      } else if (next == 'S' && !in_class) {
        out += "[^" + std::string(kWhiteSpace) + "]";
      } else {  // any other escape (and \S inside a class, which no tokenizer uses) as it is
        out += c;
        out += next;
      }
      continue;
    }
    if (!in_class && c == '[') {
      in_class = true;
      out += c;
      if (i + 1 < pattern.size() && pattern[i + 1] == '^') out += pattern[++i];
      if (i + 1 < pattern.size() && pattern[i + 1] == ']') out += pattern[++i];  // a leading ] is literal
      continue;
    }
    if (in_class && c == ']') in_class = false;
    out += c;
  }
  return out;
}

Regex::Regex(const std::string& source_pattern) : impl_(std::make_unique<Impl>()) {
  impl_->pattern = source_pattern;
  const std::string pattern = oniguruma_to_pcre2(source_pattern);
  int error = 0;
  PCRE2_SIZE offset = 0;
  impl_->code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(),
                              PCRE2_UTF | PCRE2_UCP | PCRE2_NO_UTF_CHECK, &error, &offset, nullptr);
  if (!impl_->code) {
    PCRE2_UCHAR message[256];
    pcre2_get_error_message(error, message, sizeof(message));
    TLM_FAIL(kInvalidArgument) << "cannot compile tokenizer regex '" << source_pattern << "' (as PCRE2: '" << pattern
                               << "') at offset " << offset << ": " << reinterpret_cast<const char*>(message);
  }
  impl_->jit = pcre2_jit_compile(impl_->code, PCRE2_JIT_COMPLETE) == 0;
}

Regex::~Regex() { pcre2_code_free(impl_->code); }

void Regex::find_all(std::string_view text, std::vector<std::pair<size_t, size_t>>& out) const {
  thread_local MatchData match;
  const auto* subject = reinterpret_cast<PCRE2_SPTR>(text.data());
  size_t start = 0;
  while (start <= text.size()) {
    const int rc = impl_->jit
                       ? pcre2_jit_match(impl_->code, subject, text.size(), start, 0, match.data, nullptr)
                       : pcre2_match(impl_->code, subject, text.size(), start, PCRE2_NO_UTF_CHECK, match.data, nullptr);
    if (rc == PCRE2_ERROR_NOMATCH) break;
    if (rc < 0) TLM_FAIL(kInternal) << "tokenizer regex '" << impl_->pattern << "' failed with PCRE2 error " << rc;
    const PCRE2_SIZE* ovector = pcre2_get_ovector_pointer(match.data);
    const size_t begin = ovector[0], end = ovector[1];
    if (end > begin) out.emplace_back(begin, end);
    if (end > begin) {
      start = end;
    } else {  // empty match: step one code point forward
      if (begin >= text.size()) break;
      start = begin + 1;
      while (start < text.size() && (static_cast<unsigned char>(text[start]) & 0xC0) == 0x80) ++start;
    }
  }
}

std::string Regex::escape(std::string_view literal) {
  std::string out = "\\Q";
  for (size_t pos = 0; pos < literal.size();) {
    const size_t end = literal.find("\\E", pos);
    if (end == std::string_view::npos) {
      out.append(literal.substr(pos));
      break;
    }
    out.append(literal.substr(pos, end - pos));
    out += "\\E\\\\E\\Q";
    pos = end + 2;
  }
  out += "\\E";
  return out;
}

}  // namespace turbolm
