// A Jinja2 template, parsed once and rendered many times (render is const and thread-safe).
// Behaves like Python jinja2 in transformers' configuration: ImmutableSandboxedEnvironment,
// trim_blocks, lstrip_blocks, loopcontrols, raise_exception, strftime_now, non-ASCII tojson.
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "chat/jinja/interpreter.h"

namespace turbolm::jinja {

class Template {
 public:
  // Throws turbolm::Error(kInvalidArgument) "template syntax error at LINE:COLUMN: ..." on bad syntax.
  static Template parse(std::string_view source);

  // Variables come from `context` (a JSON object; key order is kept, as Python dicts keep it).
  // Errors are turbolm::Error(kInvalidArgument): raise_exception("msg") gives exactly "msg", other
  // failures "template error at LINE:COLUMN: ..." (undefined attribute access, type errors, limits).
  std::string render(const nlohmann::ordered_json& context, const RenderOptions& options = {}) const;
  std::string render(const nlohmann::json& context, const RenderOptions& options = {}) const;
  // Context already converted to values (callers that render one context repeatedly).
  std::string render(const Dict& context, const RenderOptions& options = {}) const;

 private:
  std::shared_ptr<const Body> body_;
};

}  // namespace turbolm::jinja
