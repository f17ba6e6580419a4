// Text serializations that must match Python byte for byte: json.dumps (transformers' tojson filter)
// and printf-style `%` formatting.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <optional>

#include "chat/jinja/errors.h"
#include "chat/jinja/interpreter.h"

namespace turbolm::jinja {
namespace {

// printf-style widths and precisions: %s / %r pad as far as the output limit allows (widths saturate here, far
// above any limit); numbers go through snprintf into a fixed buffer, so theirs are capped.
constexpr size_t kSaturatedWidth = size_t{1} << 40;
constexpr size_t kMaxNumberWidth = 400;

void json_string(std::string& out, const std::string& s) {
  out.push_back('"');
  for (unsigned char c : s) {
    switch (c) {
      case '"': out.append("\\\""); break;
      case '\\': out.append("\\\\"); break;
      case '\n': out.append("\\n"); break;
      case '\r': out.append("\\r"); break;
      case '\t': out.append("\\t"); break;
      case '\b': out.append("\\b"); break;
      case '\f': out.append("\\f"); break;
      default:
        if (c < 0x20) {  // ensure_ascii=False still escapes control characters
          char buf[8];
          std::snprintf(buf, sizeof(buf), "\\u%04x", c);
          out.append(buf);
        } else {
          out.push_back(static_cast<char>(c));
        }
    }
  }
  out.push_back('"');
}

struct JsonWriter {
  std::string indent;  // empty + !pretty: single line
  bool pretty;
  std::string item_sep, key_sep;
  bool sort_keys;
  std::string out;
  int depth = 0;

  void newline(int level) {
    out.push_back('\n');
    for (int i = 0; i < level; ++i) out += indent;
  }

  void write(const Value& v) {
    if (depth > 512) render_fail("tojson: nesting too deep");
    switch (v.kind()) {
      case Kind::kNone: out.append("null"); return;
      case Kind::kBool: out.append(v.as_bool() ? "true" : "false"); return;
      case Kind::kInt: append_str(out, v); return;
      case Kind::kFloat: {
        double f = v.as_float();
        if (std::isnan(f))
          out.append("NaN");
        else if (std::isinf(f))
          out.append(f < 0 ? "-Infinity" : "Infinity");
        else
          append_float_repr(out, f);
        return;
      }
      case Kind::kString: json_string(out, v.as_string()); return;
      case Kind::kList:
      case Kind::kTuple: {
        const List& items = v.as_list();
        if (items.empty()) return out.append("[]"), void();
        out.push_back('[');
        ++depth;
        for (size_t i = 0; i < items.size(); ++i) {
          if (i) out += item_sep;
          if (pretty) newline(depth);
          write(items[i]);
        }
        --depth;
        if (pretty) newline(depth);
        out.push_back(']');
        return;
      }
      case Kind::kDict: {
        std::vector<const std::pair<std::string, Value>*> items;
        for (const auto& kv : v.as_dict().items) items.push_back(&kv);
        if (sort_keys)
          std::stable_sort(items.begin(), items.end(), [](auto* x, auto* y) { return x->first < y->first; });
        if (items.empty()) return out.append("{}"), void();
        out.push_back('{');
        ++depth;
        for (size_t i = 0; i < items.size(); ++i) {
          if (i) out += item_sep;
          if (pretty) newline(depth);
          json_string(out, items[i]->first);
          out += key_sep;
          write(items[i]->second);
        }
        --depth;
        if (pretty) newline(depth);
        out.push_back('}');
        return;
      }
      default: render_fail("Object of type " + std::string(v.type_name()) + " is not JSON serializable");
    }
  }
};

}  // namespace

std::string to_json(const Value& v, const std::optional<std::string>& indent, const Value& separators, bool sort_keys) {
  JsonWriter w;
  w.pretty = indent.has_value();
  if (w.pretty) w.indent = *indent;
  w.item_sep = w.pretty ? "," : ", ";
  w.key_sep = ": ";
  if (separators.is_sequence() && separators.as_list().size() == 2) {
    w.item_sep = to_str(separators.as_list()[0]);
    w.key_sep = to_str(separators.as_list()[1]);
  }
  w.sort_keys = sort_keys;
  w.write(v);
  return std::move(w.out);
}

std::string percent_format(Interpreter& in, const std::string& format, const Value& args) {
  // A tuple supplies the arguments in order; a dict serves %(name)s; anything else is the single argument.
  List positional = args.kind() == Kind::kTuple ? args.as_list() : List{args};
  size_t next = 0;
  std::string out;
  for (size_t i = 0; i < format.size(); ++i) {
    char c = format[i];
    if (c != '%') {
      out.push_back(c);
      continue;
    }
    if (++i >= format.size()) render_fail("incomplete format");
    Value arg;
    bool have_arg = false;
    if (format[i] == '(') {
      size_t close = format.find(')', i);
      if (close == std::string::npos) render_fail("incomplete format key");
      if (!args.is_dict()) render_fail("format requires a mapping");
      const Value* v = args.as_dict().find(format.substr(i + 1, close - i - 1));
      if (!v) render_fail("KeyError: '" + format.substr(i + 1, close - i - 1) + "'");
      arg = *v;
      have_arg = true;
      i = close + 1;
    }
    // Python's grammar: flags, width digits, then optionally '.' and precision digits (a second '.' is taken for
    // the conversion character, which Python refuses too). Values saturate: they are only checked below.
    std::string spec = "%";
    while (i < format.size() && std::string_view("-+ #0").find(format[i]) != std::string_view::npos)
      spec.push_back(format[i++]);
    auto read_number = [&] {
      size_t value = 0;
      for (; i < format.size() && std::isdigit(static_cast<unsigned char>(format[i])); ++i) {
        value = std::min<size_t>(value * 10 + static_cast<size_t>(format[i] - '0'), kSaturatedWidth);
        spec.push_back(format[i]);
      }
      return value;
    };
    const size_t width = read_number();
    std::optional<size_t> precision;
    if (i < format.size() && format[i] == '.') {
      spec.push_back(format[i++]);
      precision = read_number();
    }
    if (i >= format.size()) render_fail("incomplete format");
    char conv = format[i];
    if (conv == '%') {
      out.push_back('%');
      continue;
    }
    if (!have_arg) {
      if (next >= positional.size()) render_fail("not enough arguments for format string");
      arg = positional[next++];
    }
    if (conv != 's' && conv != 'r' && (width > kMaxNumberWidth || precision.value_or(0) > kMaxNumberWidth))
      render_fail("format width or precision too big");
    char buf[1024];  // the widest number: %f of 1.8e308 with precision kMaxNumberWidth, padded to no more
    switch (conv) {
      case 's':
      case 'r': {
        std::string s;
        if (conv == 's')
          append_str(s, arg);
        else
          append_repr(s, arg);
        // Precision keeps the first N code points, width pads with spaces (left with '-'), as Python counts them.
        if (precision) {
          const std::vector<std::string_view> chars = utf8_chars(s);
          if (*precision < chars.size()) s.resize(static_cast<size_t>(chars[*precision].data() - s.data()));
        }
        const size_t length = utf8_length(s);
        in.check_size(out.size() + s.size() + (width > length ? width - length : 0));
        if (width > length) {
          const std::string pad(width - length, ' ');
          s = spec.find('-') != std::string::npos ? s + pad : pad + s;
        }
        out += s;
        break;
      }
      case 'd':
      case 'i':
      case 'x':
      case 'X':
      case 'o':
      case 'c': {
        if (!arg.is_number())
          render_fail("%" + std::string(1, conv) + " format: a number is required, not " +
                      std::string(arg.type_name()));
        int64_t n = arg.is_float() ? static_cast<int64_t>(arg.as_float()) : arg.as_int();
        std::string f = spec + "ll" + (conv == 'i' ? 'd' : conv);
        if (conv == 'c') f = spec + 'c';
        std::snprintf(buf, sizeof(buf), f.c_str(), n);
        out += buf;
        break;
      }
      case 'f':
      case 'F':
      case 'e':
      case 'E':
      case 'g':
      case 'G': {
        if (!arg.is_number()) render_fail("must be real number, not " + std::string(arg.type_name()));
        std::snprintf(buf, sizeof(buf), (spec + conv).c_str(), arg.as_float());
        out += buf;
        break;
      }
      default: render_fail(std::string("unsupported format character '") + conv + "'");
    }
    in.check_size(out.size());
  }
  if (!args.is_dict() && next < positional.size() && args.kind() == Kind::kTuple)
    render_fail("not all arguments converted during string formatting");
  return out;
}

}  // namespace turbolm::jinja
