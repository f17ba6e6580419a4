// UTF-8 and Unicode helpers shared by normalizers, pre-tokenizers, models and decoders.
// Character classes follow Rust's `char` methods, because Hugging Face `tokenizers` is written in Rust.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace turbolm::unicode {

inline constexpr char32_t kReplacementChar = 0xFFFD;

// Decodes the code point at s[pos] (s must be valid UTF-8) and advances pos.
char32_t next_code_point(std::string_view s, size_t& pos);
// Byte length of the UTF-8 sequence that starts with `lead` (1 for continuation or invalid bytes).
inline size_t sequence_length(unsigned char lead) { return lead < 0x80 ? 1 : lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : 4; }
void append_utf8(std::string& out, char32_t cp);

// Returns s with every ill-formed subsequence replaced by U+FFFD, using the "maximal subpart" rule that Python's
// bytes.decode(errors="replace") and Rust's String::from_utf8_lossy both follow.
std::string to_valid_utf8(std::string_view s);
bool is_valid_utf8(std::string_view s);
// Length of the longest prefix of s that does not end inside an incomplete (but so far valid) UTF-8 sequence.
size_t complete_prefix_length(std::string_view s);

bool is_whitespace(char32_t c);    // Unicode White_Space (Rust char::is_whitespace)
bool is_alphanumeric(char32_t c);  // letters and numbers (Rust char::is_alphanumeric)
bool is_numeric(char32_t c);       // N* categories (Rust char::is_numeric)
bool is_punctuation(char32_t c);   // ASCII punctuation or P* categories (tokenizers' is_punc)
bool is_control(char32_t c);       // Cc/Cf/Cn/Co, minus \t \n \r (BERT's definition)
bool is_mark_nonspacing(char32_t c);
bool is_cjk(char32_t c);

// GPT-2's reversible byte <-> printable code point map (bytes_to_unicode in the original encoder.py).
const std::array<std::string, 256>& byte_to_unicode_utf8();
// The byte a code point stands for in that map, or -1.
int unicode_to_byte(char32_t c);

}  // namespace turbolm::unicode
