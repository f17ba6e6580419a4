// Python str semantics on UTF-8 text: whitespace set, strip/split/case mapping by code point.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace turbolm::jinja {

std::string py_strip(std::string_view s, const std::optional<std::string>& chars, bool left, bool right);
// str.split(sep, maxsplit); sep == nullopt splits on whitespace runs. rsplit when from_right.
std::vector<std::string> py_split(std::string_view s, const std::optional<std::string>& sep, int64_t maxsplit,
                                  bool from_right = false);
std::vector<std::string> py_splitlines(std::string_view s, bool keepends = false);
std::string py_upper(std::string_view s);
std::string py_lower(std::string_view s);
std::string py_capitalize(std::string_view s);
std::string py_title(std::string_view s);  // str.title()
std::string py_replace(std::string_view s, std::string_view old, std::string_view replacement, int64_t count);
bool py_isspace(std::string_view s);
// str.isalpha / isdecimal / isdigit / isnumeric / isalnum by Unicode category (non-empty, every character):
// letters L*; decimal and digit Nd (Python's digit also takes superscripts); numeric Nd, Nl, No.
enum class CharClass { kAlpha, kDecimal, kDigit, kNumeric, kAlnum };
bool py_is_class(std::string_view s, CharClass c);
// json.dumps(ensure_ascii=True) from JSON text holding raw UTF-8 (only inside strings): every non-ASCII code
// point as \\uXXXX (lowercase hex, surrogate pairs past U+FFFF).
std::string ascii_escaped_json(std::string_view json);
// Python's int(text, base): surrounding whitespace, a sign, base 0 or matching 0x / 0o / 0b prefixes, single
// underscores between digits, Unicode decimal digits. nullopt where Python raises ValueError or the value does not
// fit int64.
std::optional<int64_t> py_int(std::string_view text, int64_t base);
// re.findall(r"\w+", s): runs of alphanumeric characters (isalnum) and underscores.
size_t py_word_count(std::string_view s);
// str.isupper() (upper) / str.islower(): at least one cased character, and none of the other case.
bool py_is_cased(std::string_view s, bool upper);
// repr(str): quotes as Python picks them; \\, the quote, \t \n \r escaped, other characters Python does not print
// (controls, format characters, separators but the space, unassigned) as \xNN, \uNNNN or \UNNNNNNNN.
void py_repr_string(std::string& out, std::string_view s);

}  // namespace turbolm::jinja
