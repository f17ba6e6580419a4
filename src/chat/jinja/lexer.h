// Splits template source into text and tag tokens, applying jinja2's whitespace rules the way
// transformers configures them: trim_blocks, lstrip_blocks, `-`/`+` modifiers, no trailing newline.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace turbolm::jinja {

enum class TokenType {
  kText,        // literal template data (whitespace control already applied)
  kVarBegin,    // {{
  kVarEnd,      // }}
  kBlockBegin,  // {%
  kBlockEnd,    // %}
  kName,
  kString,  // value holds the decoded string
  kInt,
  kFloat,
  kOp,  // value holds the operator text
  kEof,
};

struct Token {
  TokenType type;
  std::string value;
  int line;
  int column;
};

// Throws turbolm::Error(kInvalidArgument) "template syntax error at line:column: ..." on malformed input.
std::vector<Token> tokenize(std::string_view source);

}  // namespace turbolm::jinja
