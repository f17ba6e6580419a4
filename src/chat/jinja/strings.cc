#include "chat/jinja/strings.h"

#include <utf8proc.h>

#include <cstdio>

namespace turbolm::jinja {
namespace {

struct CodePoint {
  int32_t cp;
  size_t begin, end;  // byte range
};

std::vector<CodePoint> decode(std::string_view s) {
  std::vector<CodePoint> out;
  out.reserve(s.size());
  size_t i = 0;
  while (i < s.size()) {
    utf8proc_int32_t cp;
    auto n = utf8proc_iterate(reinterpret_cast<const utf8proc_uint8_t*>(s.data() + i), s.size() - i, &cp);
    if (n <= 0) {  // invalid byte: keep it as its own unit
      cp = static_cast<unsigned char>(s[i]);
      n = 1;
    }
    out.push_back({cp, i, i + static_cast<size_t>(n)});
    i += n;
  }
  return out;
}

void encode(std::string& out, int32_t cp) {
  utf8proc_uint8_t buf[4];
  auto n = utf8proc_encode_char(cp, buf);
  out.append(reinterpret_cast<const char*>(buf), n);
}

// Python's str.isspace() set.
bool is_space_cp(int32_t c) {
  return (c >= 0x09 && c <= 0x0d) || (c >= 0x1c && c <= 0x20) || c == 0x85 || c == 0xa0 || c == 0x1680 ||
         (c >= 0x2000 && c <= 0x200a) || c == 0x2028 || c == 0x2029 || c == 0x202f || c == 0x205f || c == 0x3000;
}

bool is_cased_letter(int32_t c) {
  auto cat = utf8proc_category(c);
  return cat == UTF8PROC_CATEGORY_LU || cat == UTF8PROC_CATEGORY_LL || cat == UTF8PROC_CATEGORY_LT;
}

bool ascii_only(std::string_view s) {
  for (unsigned char c : s)
    if (c >= 0x80) return false;
  return true;
}

}  // namespace

bool py_isspace(std::string_view s) {
  if (s.empty()) return false;
  for (const auto& c : decode(s))
    if (!is_space_cp(c.cp)) return false;
  return true;
}

std::string py_strip(std::string_view s, const std::optional<std::string>& chars, bool left, bool right) {
  std::vector<CodePoint> cps = decode(s);
  std::vector<CodePoint> set;
  if (chars) set = decode(*chars);
  auto strip_me = [&](int32_t cp) {
    if (!chars) return is_space_cp(cp);
    for (const auto& c : set)
      if (c.cp == cp) return true;
    return false;
  };
  size_t b = 0, e = cps.size();
  if (left)
    while (b < e && strip_me(cps[b].cp)) ++b;
  if (right)
    while (e > b && strip_me(cps[e - 1].cp)) --e;
  if (b == e) return "";
  return std::string(s.substr(cps[b].begin, cps[e - 1].end - cps[b].begin));
}

std::vector<std::string> py_split(std::string_view s, const std::optional<std::string>& sep, int64_t maxsplit,
                                  bool from_right) {
  std::vector<std::string> out;
  if (sep) {
    if (sep->empty()) return {};  // caller reports "empty separator"
    if (!from_right) {
      size_t start = 0;
      while (maxsplit < 0 || static_cast<int64_t>(out.size()) < maxsplit) {
        size_t hit = s.find(*sep, start);
        if (hit == std::string_view::npos) break;
        out.emplace_back(s.substr(start, hit - start));
        start = hit + sep->size();
      }
      out.emplace_back(s.substr(start));
      return out;
    }
    size_t end = s.size();
    std::vector<std::string> rev;
    while (maxsplit < 0 || static_cast<int64_t>(rev.size()) < maxsplit) {
      if (end < sep->size()) break;
      size_t hit = s.rfind(*sep, end - sep->size());
      if (hit == std::string_view::npos) break;
      rev.emplace_back(s.substr(hit + sep->size(), end - hit - sep->size()));
      end = hit;
    }
    rev.emplace_back(s.substr(0, end));
    return {rev.rbegin(), rev.rend()};
  }
  // Whitespace split: runs of whitespace separate, leading/trailing whitespace yields no empty strings.
  std::vector<CodePoint> cps = decode(s);
  if (from_right) {
    std::vector<std::string> rev;
    int64_t e = static_cast<int64_t>(cps.size());
    while (true) {
      while (e > 0 && is_space_cp(cps[e - 1].cp)) --e;
      if (e == 0) break;
      if (maxsplit >= 0 && static_cast<int64_t>(rev.size()) == maxsplit) {
        rev.emplace_back(s.substr(0, cps[e - 1].end));
        break;
      }
      int64_t b = e;
      while (b > 0 && !is_space_cp(cps[b - 1].cp)) --b;
      rev.emplace_back(s.substr(cps[b].begin, cps[e - 1].end - cps[b].begin));
      e = b;
    }
    return {rev.rbegin(), rev.rend()};
  }
  size_t i = 0;
  while (true) {
    while (i < cps.size() && is_space_cp(cps[i].cp)) ++i;
    if (i == cps.size()) break;
    if (maxsplit >= 0 && static_cast<int64_t>(out.size()) == maxsplit) {
      out.emplace_back(s.substr(cps[i].begin));
      break;
    }
    size_t j = i;
    while (j < cps.size() && !is_space_cp(cps[j].cp)) ++j;
    out.emplace_back(s.substr(cps[i].begin, cps[j - 1].end - cps[i].begin));
    i = j;
  }
  return out;
}

std::vector<std::string> py_splitlines(std::string_view s, bool keepends) {
  std::vector<std::string> out;
  std::vector<CodePoint> cps = decode(s);
  size_t start = 0;
  for (size_t i = 0; i < cps.size(); ++i) {
    int32_t c = cps[i].cp;
    bool brk = c == '\n' || c == '\r' || c == 0x0b || c == 0x0c || c == 0x1c || c == 0x1d || c == 0x1e || c == 0x85 ||
               c == 0x2028 || c == 0x2029;
    if (!brk) continue;
    const size_t line_end = cps[i].begin;
    if (c == '\r' && i + 1 < cps.size() && cps[i + 1].cp == '\n') ++i;
    out.emplace_back(s.substr(start, (keepends ? cps[i].end : line_end) - start));
    start = cps[i].end;
  }
  if (start < s.size()) out.emplace_back(s.substr(start));
  return out;
}

namespace {
bool in_class(int32_t cp, CharClass c) {
  const auto cat = utf8proc_category(cp);
  const bool alpha = cat == UTF8PROC_CATEGORY_LU || cat == UTF8PROC_CATEGORY_LL || cat == UTF8PROC_CATEGORY_LT ||
                     cat == UTF8PROC_CATEGORY_LM || cat == UTF8PROC_CATEGORY_LO;
  const bool decimal = cat == UTF8PROC_CATEGORY_ND;
  const bool numeric = decimal || cat == UTF8PROC_CATEGORY_NL || cat == UTF8PROC_CATEGORY_NO;
  switch (c) {
    case CharClass::kAlpha: return alpha;
    case CharClass::kDecimal:
    case CharClass::kDigit: return decimal;
    case CharClass::kNumeric: return numeric;
    case CharClass::kAlnum: return alpha || numeric;
  }
  return false;
}
}  // namespace

bool py_is_class(std::string_view s, CharClass c) {
  if (s.empty()) return false;
  for (const auto& cp : decode(s))
    if (!in_class(cp.cp, c)) return false;
  return true;
}

std::string ascii_escaped_json(std::string_view json) {
  std::string out;
  out.reserve(json.size());
  char buf[16];
  for (const auto& c : decode(json)) {
    if (c.cp < 0x80) {
      out.push_back(static_cast<char>(c.cp));
    } else if (c.cp < 0x10000) {
      std::snprintf(buf, sizeof(buf), "\\u%04x", static_cast<unsigned>(c.cp));
      out += buf;
    } else {
      const uint32_t v = static_cast<uint32_t>(c.cp) - 0x10000;
      std::snprintf(buf, sizeof(buf), "\\u%04x\\u%04x", 0xD800 + (v >> 10), 0xDC00 + (v & 0x3FF));
      out += buf;
    }
  }
  return out;
}

namespace {
// The value of a digit in Python's int(): 0-9, a-z / A-Z for 10-35, any Unicode decimal digit (Nd characters come
// in runs of ten from 0 to 9); -1 otherwise.
int digit_value(int32_t cp) {
  if (cp >= '0' && cp <= '9') return cp - '0';
  if (cp >= 'a' && cp <= 'z') return cp - 'a' + 10;
  if (cp >= 'A' && cp <= 'Z') return cp - 'A' + 10;
  if (cp < 0x80 || utf8proc_category(cp) != UTF8PROC_CATEGORY_ND) return -1;
  int32_t start = cp;
  while (start > 0 && utf8proc_category(start - 1) == UTF8PROC_CATEGORY_ND) --start;
  return (cp - start) % 10;
}
}  // namespace

std::optional<int64_t> py_int(std::string_view text, int64_t base) {
  std::vector<CodePoint> cps = decode(py_strip(text, std::nullopt, true, true));
  size_t i = 0;
  bool negative = false;
  if (i < cps.size() && (cps[i].cp == '+' || cps[i].cp == '-')) negative = cps[i++].cp == '-';
  auto prefix_base = [&]() -> int64_t {
    if (i + 1 >= cps.size() || cps[i].cp != '0') return 0;
    const int32_t p = cps[i + 1].cp | 0x20;
    return p == 'x' ? 16 : p == 'o' ? 8 : p == 'b' ? 2 : 0;
  };
  const int64_t prefixed = prefix_base();
  const bool base_zero = base == 0;  // then "012" is an error (a leading zero needs a prefix), as in Python
  if (base == 0) {
    base = prefixed != 0 ? prefixed : 10;
    if (prefixed != 0) i += 2;
  } else if (prefixed != 0 && prefixed == base) {
    i += 2;
  }
  if (base < 2 || base > 36) return std::nullopt;
  const bool after_prefix = prefixed != 0 && prefixed == base;
  // An underscore goes between digits, or right after a prefix ("0x_1f").
  bool any = false, last_underscore = false, leading_zero = false, nonzero_after_zero = false;
  int64_t value = 0;
  for (bool first = true; i < cps.size(); ++i, first = false) {
    if (cps[i].cp == '_') {
      if (last_underscore || (first && !after_prefix)) return std::nullopt;
      last_underscore = true;
      continue;
    }
    const int d = digit_value(cps[i].cp);
    if (d < 0 || d >= base) return std::nullopt;
    if (!any)
      leading_zero = d == 0;
    else if (leading_zero && d != 0)
      nonzero_after_zero = true;
    any = true;
    last_underscore = false;
    if (value > (INT64_MAX - d) / base) return std::nullopt;
    value = value * base + d;
  }
  if (!any || last_underscore) return std::nullopt;
  if (base_zero && prefixed == 0 && leading_zero && nonzero_after_zero) return std::nullopt;
  return negative ? -value : value;
}

size_t py_word_count(std::string_view s) {
  size_t words = 0;
  bool in_word = false;
  for (const auto& cp : decode(s)) {
    const bool word_char = cp.cp == '_' || in_class(cp.cp, CharClass::kAlnum);
    words += word_char && !in_word;
    in_word = word_char;
  }
  return words;
}

bool py_is_cased(std::string_view s, bool upper) {
  bool cased = false;
  for (const auto& c : decode(s)) {
    const auto cat = utf8proc_category(c.cp);
    if (cat == UTF8PROC_CATEGORY_LT || cat == (upper ? UTF8PROC_CATEGORY_LL : UTF8PROC_CATEGORY_LU)) return false;
    cased = cased || cat == (upper ? UTF8PROC_CATEGORY_LU : UTF8PROC_CATEGORY_LL);
  }
  return cased;
}

void py_repr_string(std::string& out, std::string_view s) {
  // Python picks single quotes unless the text holds a single quote and no double quote.
  const bool has_single = s.find('\'') != std::string_view::npos;
  const char quote = has_single && s.find('"') == std::string_view::npos ? '"' : '\'';
  out.push_back(quote);
  for (const auto& c : decode(s)) {
    const int32_t cp = c.cp;
    if (cp == '\\') {
      out.append("\\\\");
    } else if (cp == '\n') {
      out.append("\\n");
    } else if (cp == '\r') {
      out.append("\\r");
    } else if (cp == '\t') {
      out.append("\\t");
    } else if (cp == quote) {
      out.push_back('\\');
      out.push_back(quote);
    } else if (cp >= 0x20 && cp < 0x7f) {
      out.push_back(static_cast<char>(cp));
    } else {
      // str.isprintable(): not Cc, Cf, Cs, Co, Cn, Zl, Zp, or Zs other than the space.
      const auto cat = utf8proc_category(cp);
      const bool printable = cp >= 0x80 && cat != UTF8PROC_CATEGORY_CC && cat != UTF8PROC_CATEGORY_CF &&
                             cat != UTF8PROC_CATEGORY_CS && cat != UTF8PROC_CATEGORY_CO &&
                             cat != UTF8PROC_CATEGORY_CN && cat != UTF8PROC_CATEGORY_ZL &&
                             cat != UTF8PROC_CATEGORY_ZP && cat != UTF8PROC_CATEGORY_ZS;
      if (printable) {
        out.append(s.substr(c.begin, c.end - c.begin));
      } else {
        char buf[16];
        std::snprintf(buf, sizeof(buf),
                      cp < 0x100     ? "\\x%02x"
                      : cp < 0x10000 ? "\\u%04x"
                                     : "\\U%08x",
                      static_cast<unsigned>(cp));
        out.append(buf);
      }
    }
  }
  out.push_back(quote);
}

std::string py_upper(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  if (ascii_only(s)) {
    for (char c : s) out.push_back(c >= 'a' && c <= 'z' ? c - 32 : c);
    return out;
  }
  for (const auto& c : decode(s)) encode(out, utf8proc_toupper(c.cp));
  return out;
}

std::string py_lower(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  if (ascii_only(s)) {
    for (char c : s) out.push_back(c >= 'A' && c <= 'Z' ? c + 32 : c);
    return out;
  }
  for (const auto& c : decode(s)) encode(out, utf8proc_tolower(c.cp));
  return out;
}

std::string py_capitalize(std::string_view s) {
  std::string out;
  bool first = true;
  for (const auto& c : decode(s)) {
    encode(out, first ? utf8proc_totitle(c.cp) : utf8proc_tolower(c.cp));
    first = false;
  }
  return out;
}

std::string py_title(std::string_view s) {
  // str.title(): a cased letter after an uncased character starts a word.
  std::string out;
  bool prev_cased = false;
  for (const auto& c : decode(s)) {
    bool cased = is_cased_letter(c.cp);
    encode(out, cased ? (prev_cased ? utf8proc_tolower(c.cp) : utf8proc_totitle(c.cp)) : c.cp);
    prev_cased = cased;
  }
  return out;
}

std::string py_replace(std::string_view s, std::string_view old, std::string_view replacement, int64_t count) {
  std::string out;
  if (old.empty()) {
    // Python inserts the replacement between every code point (and at both ends).
    auto cps = decode(s);
    int64_t done = 0;
    for (const auto& c : cps) {
      if (count < 0 || done < count) out += replacement, ++done;
      out.append(s.substr(c.begin, c.end - c.begin));
    }
    if (count < 0 || done < count) out += replacement;
    return out;
  }
  size_t start = 0;
  int64_t done = 0;
  while (count < 0 || done < count) {
    size_t hit = s.find(old, start);
    if (hit == std::string_view::npos) break;
    out.append(s.substr(start, hit - start));
    out.append(replacement);
    start = hit + old.size();
    ++done;
  }
  out.append(s.substr(start));
  return out;
}

}  // namespace turbolm::jinja
