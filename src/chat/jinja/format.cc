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

// Python's %d / %i (ints, bools, floats truncated) and %x / %X / %o (ints and bools only) with the flags in
// `flags` ("-+ #0"), the width and the precision (a minimum digit count). Unlike C's printf, negative numbers keep
// their sign in every base, '#' writes 0x / 0X / 0o, and floats print their exact integer value.
std::string format_integer(const Value& arg, char conv, std::string_view flags, size_t width,
                           std::optional<size_t> precision) {
  const bool decimal = conv == 'd' || conv == 'i';
  if (!arg.is_number() || (!decimal && arg.is_float())) {
    std::string message = {'%', conv};  // built by appends: g++ 12 warns (-Wrestrict) on "literal" + string here
    message.append(" format: ").append(decimal ? "a real number" : "an integer").append(" is required, not ");
    render_fail(message.append(arg.type_name()));
  }
  bool negative = false;
  std::string digits;
  if (arg.is_float()) {
    const double v = std::trunc(arg.as_float());
    if (std::isnan(v)) render_fail("cannot convert float NaN to integer");
    if (std::isinf(v)) render_fail("cannot convert float infinity to integer");
    negative = v < 0;
    char buf[400];  // at most 309 digits
    std::snprintf(buf, sizeof(buf), "%.0f", std::fabs(v));
    digits = buf;
  } else {
    const int64_t n = arg.as_int();
    negative = n < 0;
    uint64_t magnitude = negative ? 0 - static_cast<uint64_t>(n) : static_cast<uint64_t>(n);
    const unsigned base = decimal ? 10 : conv == 'o' ? 8 : 16;
    const char* symbols = conv == 'X' ? "0123456789ABCDEF" : "0123456789abcdef";
    do {
      digits.insert(digits.begin(), symbols[magnitude % base]);
      magnitude /= base;
    } while (magnitude != 0);
  }
  if (precision && digits.size() < *precision) digits.insert(0, *precision - digits.size(), '0');
  const auto flag = [&](char f) { return flags.find(f) != std::string_view::npos; };
  std::string prefix = negative ? "-" : flag('+') ? "+" : flag(' ') ? " " : "";
  if (flag('#') && !decimal) prefix += conv == 'o' ? "0o" : conv == 'X' ? "0X" : "0x";
  const size_t length = prefix.size() + digits.size();
  if (width <= length) return prefix + digits;
  if (flag('-')) return prefix + digits + std::string(width - length, ' ');
  if (flag('0')) return prefix + std::string(width - length, '0') + digits;
  return std::string(width - length, ' ') + prefix + digits;
}

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
    const std::string flags = spec.substr(1);
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
    // Text (%s, %r, %c): width pads with spaces (left-justified with '-'; '0' does not apply), counted in code
    // points as Python counts them.
    auto append_padded = [&](std::string s) {
      const size_t length = utf8_length(s);
      in.check_size(out.size() + s.size() + (width > length ? width - length : 0));
      if (width > length) {
        const std::string pad(width - length, ' ');
        s = flags.find('-') != std::string::npos ? s + pad : pad + s;
      }
      out += s;
    };
    switch (conv) {
      case 's':
      case 'r': {
        std::string s;
        if (conv == 's')
          append_str(s, arg);
        else
          append_repr(s, arg);
        if (precision) {  // keeps the first N code points
          const std::vector<std::string_view> chars = utf8_chars(s);
          if (*precision < chars.size()) s.resize(static_cast<size_t>(chars[*precision].data() - s.data()));
        }
        append_padded(std::move(s));
        break;
      }
      case 'd':
      case 'i':
      case 'x':
      case 'X':
      case 'o': {
        const std::string text = format_integer(arg, conv, flags, width, precision);
        in.check_size(out.size() + text.size());
        out += text;
        break;
      }
      case 'c': {  // one code point, from an int or a one-character string
        std::string ch;
        if (arg.is_int()) {
          const int64_t cp = arg.as_int();
          if (cp < 0 || cp >= 0x110000) render_fail("%c arg not in range(0x110000)");
          append_utf8(ch, static_cast<uint32_t>(cp));
        } else if (arg.is_string() && utf8_length(arg.as_string()) == 1) {
          ch = arg.as_string();
        } else {
          render_fail("%c requires int or char");
        }
        append_padded(std::move(ch));
        break;
      }
      case 'f':
      case 'F':
      case 'e':
      case 'E':
      case 'g':
      case 'G': {
        if (!arg.is_number()) render_fail("must be real number, not " + std::string(arg.type_name()));
        char buf[1024];  // the widest: %f of 1.8e308 with precision kMaxNumberWidth, padded to no more
        std::snprintf(buf, sizeof(buf), (spec + conv).c_str(), arg.as_float());
        out += buf;
        break;
      }
      default: render_fail(std::string("unsupported format character '") + conv + "'");
    }
    in.check_size(out.size());
  }
  // An argument left over is an error, except for those Python treats as mappings (anything with __getitem__ but
  // a tuple or a string: dicts, lists, jinja2's Undefined), which a format need not use.
  const bool mapping_like = args.is_dict() || args.kind() == Kind::kList || args.kind() == Kind::kUndefined;
  if (!mapping_like && next < positional.size()) render_fail("not all arguments converted during string formatting");
  return out;
}

}  // namespace turbolm::jinja
