// Recursive-descent parser for jinja2 syntax, following jinja2's grammar and operator precedence.
#pragma once

#include <string_view>

#include "chat/jinja/ast.h"

namespace turbolm::jinja {

// Throws turbolm::Error(kInvalidArgument) "template syntax error at line:column: ..." on bad syntax.
Body parse_template(std::string_view source);

}  // namespace turbolm::jinja
