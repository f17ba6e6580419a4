#include "chat/jinja/lexer.h"

#include <cstring>

#include "chat/jinja/value.h"
#include "core/error.h"

namespace turbolm::jinja {
namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_name_start(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || static_cast<unsigned char>(c) >= 0x80;
}
bool is_name_char(char c) { return is_name_start(c) || is_digit(c); }

class Lexer {
 public:
  explicit Lexer(std::string_view source) {
    // jinja2 normalizes \r\n and \r to \n and drops one trailing newline (keep_trailing_newline=False).
    src_.reserve(source.size());
    for (size_t i = 0; i < source.size(); ++i) {
      if (source[i] == '\r') {
        src_.push_back('\n');
        if (i + 1 < source.size() && source[i + 1] == '\n') ++i;
      } else {
        src_.push_back(source[i]);
      }
    }
    if (!src_.empty() && src_.back() == '\n') src_.pop_back();
  }

  std::vector<Token> run() {
    bool line_starting = true;  // the previous token ended with a newline (jinja2's lstrip rule)
    while (pos_ < src_.size()) {
      size_t tag = find_tag(pos_);
      std::string text = src_.substr(pos_, tag - pos_);
      if (tag == src_.size()) {
        emit_text(std::move(text), pos_);
        break;
      }
      char kind = src_[tag + 1];  // '{', '%' or '#'
      char sign = tag + 2 < src_.size() ? src_[tag + 2] : '\0';
      strip_before_tag(text, sign, kind != '{', line_starting);
      emit_text(std::move(text), pos_);
      pos_ = tag + 2 + (sign == '-' || sign == '+');
      if (kind == '#') {
        line_starting = lex_comment(tag);
      } else if (kind == '%' && try_raw(tag)) {
        line_starting = false;
      } else {
        line_starting = lex_tag(kind == '%', tag);
      }
    }
    tokens_.push_back({TokenType::kEof, "", line_of(src_.size()).first, line_of(src_.size()).second});
    return std::move(tokens_);
  }

 private:
  size_t find_tag(size_t from) const {
    for (size_t i = from; i + 1 < src_.size(); ++i) {
      if (src_[i] == '{' && (src_[i + 1] == '{' || src_[i + 1] == '%' || src_[i + 1] == '#')) return i;
    }
    return src_.size();
  }

  std::pair<int, int> line_of(size_t offset) {
    // Incremental: offsets only grow during lexing, except for error paths (which restart the scan).
    if (offset < line_scan_pos_) line_scan_pos_ = 0, line_ = 1, line_start_ = 0;
    for (; line_scan_pos_ < offset && line_scan_pos_ < src_.size(); ++line_scan_pos_) {
      if (src_[line_scan_pos_] == '\n') ++line_, line_start_ = line_scan_pos_ + 1;
    }
    return {line_, static_cast<int>(offset - line_start_) + 1};
  }

  [[noreturn]] void fail(size_t offset, const std::string& message) {
    auto [line, col] = line_of(offset);
    TLM_FAIL(kInvalidArgument) << "template syntax error at " << line << ":" << col << ": " << message;
  }

  void emit_text(std::string text, size_t offset) {
    if (text.empty()) return;
    auto [line, col] = line_of(offset);
    tokens_.push_back({TokenType::kText, std::move(text), line, col});
  }

  void emit(TokenType type, std::string value, size_t offset) {
    auto [line, col] = line_of(offset);
    tokens_.push_back({type, std::move(value), line, col});
  }

  // Text before a tag opening with `sign`: `-` strips all trailing whitespace; otherwise, before a block or comment
  // tag (lstrip) and unless `+`, lstrip_blocks removes the blank start of the tag's line -- if the text holds a
  // newline, or the token before it ended one (line_starting).
  static void strip_before_tag(std::string& text, char sign, bool lstrip, bool line_starting) {
    if (sign == '-') {
      while (!text.empty() && is_space(text.back())) text.pop_back();
      return;
    }
    if (sign == '+' || !lstrip) return;
    const size_t newline = text.rfind('\n');
    const size_t l_pos = newline == std::string::npos ? 0 : newline + 1;
    if (l_pos == 0 && !line_starting) return;
    for (size_t i = l_pos; i < text.size(); ++i)
      if (!is_space(text[i])) return;
    text.resize(l_pos);
  }

  // After an end tag: `-` strips all following whitespace, `+` keeps it, else trim_blocks eats one
  // newline (blocks and comments only). Returns whether what was consumed ends in a newline.
  bool after_end_tag(char sign, bool trim) {
    bool newline = false;
    if (sign == '-') {
      while (pos_ < src_.size() && is_space(src_[pos_])) newline = src_[pos_++] == '\n';
    } else if (sign != '+' && trim && pos_ < src_.size() && src_[pos_] == '\n') {
      ++pos_;
      newline = true;
    }
    return newline;
  }

  bool lex_comment(size_t start) {
    size_t end = src_.find("#}", pos_);
    if (end == std::string::npos) fail(start, "Missing end of comment tag");
    char sign = end > pos_ && (src_[end - 1] == '-' || src_[end - 1] == '+') ? src_[end - 1] : '\0';
    pos_ = end + 2;
    return after_end_tag(sign, true);
  }

  // {% raw %}...{% endraw %}: the body is text, untouched.
  bool try_raw(size_t start) {
    size_t p = pos_;
    while (p < src_.size() && is_space(src_[p])) ++p;
    if (src_.compare(p, 3, "raw") != 0 || (p + 3 < src_.size() && is_name_char(src_[p + 3]))) return false;
    p += 3;
    while (p < src_.size() && is_space(src_[p])) ++p;
    char sign = '\0';
    if (p < src_.size() && (src_[p] == '-' || src_[p] == '+')) sign = src_[p++];
    if (src_.compare(p, 2, "%}") != 0) return false;
    pos_ = p + 2;
    // '-' strips the whitespace that follows; trim_blocks does not apply after {% raw %} (jinja2's raw rule).
    const bool line_starting = after_end_tag(sign, false);
    size_t body = pos_;
    for (size_t q = find_tag(body); q < src_.size(); q = find_tag(q + 1)) {
      if (src_[q + 1] != '%') continue;
      size_t r = q + 2;
      char open_sign = r < src_.size() && (src_[r] == '-' || src_[r] == '+') ? src_[r] : '\0';
      if (open_sign) ++r;
      while (r < src_.size() && is_space(src_[r])) ++r;
      if (src_.compare(r, 6, "endraw") != 0) continue;
      r += 6;
      while (r < src_.size() && is_space(src_[r])) ++r;
      char close_sign = '\0';
      if (r < src_.size() && (src_[r] == '-' || src_[r] == '+')) close_sign = src_[r++];
      if (src_.compare(r, 2, "%}") != 0) continue;
      std::string text = src_.substr(body, q - body);
      strip_before_tag(text, open_sign, true, line_starting);  // {% endraw %} is a block tag like any other
      emit_text(std::move(text), body);
      pos_ = r + 2;
      after_end_tag(close_sign, true);
      return true;
    }
    fail(start, "Missing end of raw directive");
  }

  // Expression tokens up to the closing }} or %} (at bracket depth 0, as jinja2 balances brackets).
  bool lex_tag(bool block, size_t start) {
    emit(block ? TokenType::kBlockBegin : TokenType::kVarBegin, "", start);
    std::vector<char> brackets;
    while (true) {
      while (pos_ < src_.size() && is_space(src_[pos_])) ++pos_;
      if (pos_ >= src_.size())
        fail(start, block ? "unexpected end of template, expected '%}'" : "unexpected end of template, expected '}}'");
      char c = src_[pos_];
      if (brackets.empty()) {
        const char* end = block ? "%}" : "}}";
        char sign = (c == '-' || c == '+') ? c : '\0';
        if (sign == '+' && !block) sign = '\0';
        size_t at = pos_ + (sign ? 1 : 0);
        if (src_.compare(at, 2, end) == 0) {
          emit(block ? TokenType::kBlockEnd : TokenType::kVarEnd, "", pos_);
          pos_ = at + 2;
          return after_end_tag(sign, block);
        }
      }
      size_t tok_start = pos_;
      if (c == '"' || c == '\'') {
        emit(TokenType::kString, lex_string(), tok_start);
      } else if (is_digit(c)) {
        lex_number(tok_start);
      } else if (is_name_start(c)) {
        while (pos_ < src_.size() && is_name_char(src_[pos_])) ++pos_;
        emit(TokenType::kName, src_.substr(tok_start, pos_ - tok_start), tok_start);
      } else {
        static const char* kOps2[] = {"//", "**", "==", "!=", "<=", ">="};
        std::string op;
        for (const char* two : kOps2) {
          if (src_.compare(pos_, 2, two) == 0) op = two;
        }
        if (op.empty()) {
          if (!std::strchr("+-/*%~[](){}<>=.:|,", c)) fail(pos_, std::string("unexpected char '") + c + "'");
          op = std::string(1, c);
        }
        if (op == "(" || op == "[" || op == "{") {
          brackets.push_back(op == "(" ? ')' : op == "[" ? ']' : '}');
        } else if (op == ")" || op == "]" || op == "}") {
          if (brackets.empty()) fail(pos_, "unexpected '" + op + "'");
          if (brackets.back() != op[0]) fail(pos_, "unexpected '" + op + "', expected '" + brackets.back() + "'");
          brackets.pop_back();
        }
        pos_ += op.size();
        emit(TokenType::kOp, std::move(op), tok_start);
      }
    }
  }

  void lex_number(size_t start) {
    auto digits = [&] {
      while (pos_ < src_.size() &&
             (is_digit(src_[pos_]) || (src_[pos_] == '_' && pos_ + 1 < src_.size() && is_digit(src_[pos_ + 1]))))
        ++pos_;
    };
    digits();
    bool is_float = false;
    if (pos_ + 1 < src_.size() && src_[pos_] == '.' && is_digit(src_[pos_ + 1])) {
      ++pos_;
      digits();
      is_float = true;
    }
    if (pos_ < src_.size() && (src_[pos_] == 'e' || src_[pos_] == 'E')) {
      size_t p = pos_ + 1;
      if (p < src_.size() && (src_[p] == '+' || src_[p] == '-')) ++p;
      if (p < src_.size() && is_digit(src_[p])) {
        pos_ = p;
        digits();
        is_float = true;
      }
    }
    std::string text;
    for (size_t i = start; i < pos_; ++i)
      if (src_[i] != '_') text.push_back(src_[i]);
    emit(is_float ? TokenType::kFloat : TokenType::kInt, std::move(text), start);
  }

  // Decodes escapes the way jinja2 does (Python's unicode-escape codec); unknown escapes stay literal.
  std::string lex_string() {
    size_t start = pos_;
    char quote = src_[pos_++];
    std::string out;
    while (true) {
      if (pos_ >= src_.size()) fail(start, "unexpected end of string");
      char c = src_[pos_++];
      if (c == quote) return out;
      if (c != '\\') {
        out.push_back(c);
        continue;
      }
      if (pos_ >= src_.size()) fail(start, "unexpected end of string");
      char e = src_[pos_++];
      switch (e) {
        case 'n': out.push_back('\n'); break;
        case 't': out.push_back('\t'); break;
        case 'r': out.push_back('\r'); break;
        case '\\': out.push_back('\\'); break;
        case '\'': out.push_back('\''); break;
        case '"': out.push_back('"'); break;
        case 'a': out.push_back('\a'); break;
        case 'b': out.push_back('\b'); break;
        case 'f': out.push_back('\f'); break;
        case 'v': out.push_back('\v'); break;
        case '\n': break;  // line continuation
        case 'x':
        case 'u':
        case 'U': {
          int n = e == 'x' ? 2 : e == 'u' ? 4 : 8;
          uint32_t cp = 0;
          for (int i = 0; i < n; ++i) {
            char h = pos_ < src_.size() ? src_[pos_] : '\0';
            int d = is_digit(h)              ? h - '0'
                    : (h >= 'a' && h <= 'f') ? h - 'a' + 10
                    : (h >= 'A' && h <= 'F') ? h - 'A' + 10
                                             : -1;
            if (d < 0) fail(pos_, "truncated \\" + std::string(1, e) + " escape in string");
            cp = cp * 16 + d;
            ++pos_;
          }
          if (cp > 0x10FFFF) fail(pos_, "illegal Unicode character in string");
          append_utf8(out, cp);
          break;
        }
        default:
          if (e >= '0' && e <= '7') {
            uint32_t cp = e - '0';
            for (int i = 0; i < 2 && pos_ < src_.size() && src_[pos_] >= '0' && src_[pos_] <= '7'; ++i)
              cp = cp * 8 + (src_[pos_++] - '0');
            append_utf8(out, cp);
          } else {
            out.push_back('\\');
            out.push_back(e);
          }
      }
    }
  }

  std::string src_;
  size_t pos_ = 0;
  std::vector<Token> tokens_;
  size_t line_scan_pos_ = 0, line_start_ = 0;
  int line_ = 1;
};

}  // namespace

std::vector<Token> tokenize(std::string_view source) { return Lexer(source).run(); }

}  // namespace turbolm::jinja
