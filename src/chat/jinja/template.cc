#include "chat/jinja/template.h"

#include "chat/jinja/errors.h"
#include "chat/jinja/parser.h"
#include "core/error.h"

namespace turbolm::jinja {

Template Template::parse(std::string_view source) {
  Template t;
  t.body_ = std::make_shared<const Body>(parse_template(source));
  return t;
}

std::string Template::render(const Dict& context, const RenderOptions& options) const {
  Interpreter in(options, context);
  std::string out;
  try {
    in.render(*body_, out);
  } catch (const RenderError& e) {
    if (e.user_raised()) TLM_FAIL(kInvalidArgument) << e.what();
    Location l = in.error_location();
    TLM_FAIL(kInvalidArgument) << "template error at " << l.line << ":" << l.column << ": " << e.what();
  }
  return out;
}

namespace {
template <typename Json>
Dict to_context(const Json& context) {
  if (context.is_null()) return {};
  TLM_CHECK_ARG(context.is_object()) << "template context must be a JSON object";
  Value v = from_json(context);
  return v.as_dict();
}
}  // namespace

std::string Template::render(const nlohmann::ordered_json& context, const RenderOptions& options) const {
  return render(to_context(context), options);
}

std::string Template::render(const nlohmann::json& context, const RenderOptions& options) const {
  return render(to_context(context), options);
}

}  // namespace turbolm::jinja
