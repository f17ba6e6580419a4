// Methods that templates call on str, list and dict values (`content.strip()`, `d.items()`).
// Mutating list/dict methods are refused like jinja2's ImmutableSandboxedEnvironment does.
#include <algorithm>

#include "chat/jinja/errors.h"
#include "chat/jinja/interpreter.h"
#include "chat/jinja/strings.h"

namespace turbolm::jinja {
namespace {

using Method = Value (*)(Interpreter&, const Value& self, CallArgs& args);

std::optional<std::string> opt_string(const CallArgs& args, size_t pos, std::string_view name) {
  const Value* v = find_arg(args, pos, name);
  if (!v || v->is_none()) return std::nullopt;
  if (!v->is_string()) render_fail("expected a string argument, got " + std::string(v->type_name()));
  return v->as_string();
}

const std::string& need_string(const CallArgs& args, size_t pos, std::string_view name) {
  const Value* v = find_arg(args, pos, name);
  if (!v) render_fail("missing required argument '" + std::string(name) + "'");
  if (!v->is_string()) render_fail("must be str, not " + std::string(v->type_name()));
  return v->as_string();
}

int64_t opt_int(const CallArgs& args, size_t pos, std::string_view name, int64_t fallback) {
  const Value* v = find_arg(args, pos, name);
  if (!v || v->is_none()) return fallback;
  if (!v->is_int() && !v->is_bool()) render_fail("an integer is required, got " + std::string(v->type_name()));
  return v->as_int();
}

Value string_list(std::vector<std::string> parts) {
  List out;
  out.reserve(parts.size());
  for (auto& p : parts) out.emplace_back(std::move(p));
  return Value::list(std::move(out));
}

// The [start, end) code-point window of str methods' optional start / end arguments (positions 1 and 2), as
// Python's ADJUST_INDICES makes it: negative counts from the end, end clamps to the length, start may stay past it
// (then the window holds nothing). begin / stop: its byte range when start <= end.
struct Window {
  int64_t start = 0, end = 0;
  size_t begin = 0, stop = 0;
};
Window str_window(const std::string& s, const CallArgs& args) {
  std::vector<size_t> offsets;  // byte offset of each code point, then s.size()
  for (size_t i = 0; i < s.size(); ++i)
    if ((static_cast<unsigned char>(s[i]) & 0xC0) != 0x80) offsets.push_back(i);
  offsets.push_back(s.size());
  const int64_t n = static_cast<int64_t>(offsets.size()) - 1;
  auto adjust = [n](int64_t i) { return i < 0 ? std::max<int64_t>(0, i + n) : i; };
  Window w;
  w.start = adjust(opt_int(args, 1, "start", 0));
  w.end = std::min(adjust(opt_int(args, 2, "end", n)), n);
  if (w.start <= w.end) w.begin = offsets[w.start], w.stop = offsets[w.end];
  return w;
}

// startswith / endswith accept a string or a tuple of strings, and start / end.
bool affix_match(const Value& self, const CallArgs& args, bool prefix) {
  const Value* v = find_arg(args, 0, "prefix");
  if (!v) render_fail("startswith/endswith take at least 1 argument");
  List options = v->is_sequence() ? v->as_list() : List{*v};
  const std::string& s = self.as_string();
  const Window w = str_window(s, args);
  // Compared bytewise inside the window: an affix with more bytes than the window (multi-byte or invalid UTF-8
  // characters) must not reach past it (nor, for endswith, before the string's start).
  const std::string_view window = std::string_view(s).substr(w.begin, w.stop - w.begin);
  for (const auto& o : options) {
    if (!o.is_string()) render_fail("startswith/endswith arg must be str or a tuple of str");
    const std::string& a = o.as_string();
    if (w.end - w.start < static_cast<int64_t>(utf8_length(a))) continue;  // also start > end: Python's False
    if (prefix ? window.starts_with(a) : window.ends_with(a)) return true;
  }
  return false;
}

Value find_impl(const Value& self, CallArgs& args, bool reverse, bool raise) {
  const std::string& s = self.as_string();
  const std::string& sub = need_string(args, 0, "sub");
  const Window w = str_window(s, args);
  size_t hit = std::string::npos;
  if (w.end - w.start >= static_cast<int64_t>(utf8_length(sub))) {
    const std::string_view window = std::string_view(s).substr(w.begin, w.stop - w.begin);
    hit = reverse ? window.rfind(sub) : window.find(sub);
  }
  if (hit == std::string::npos) {
    if (raise) render_fail("substring not found");
    return Value(-1);
  }
  return Value(static_cast<int64_t>(utf8_length(std::string_view(s).substr(0, w.begin + hit))));
}

const std::pair<std::string_view, Method> kStringMethods[] = {
    {"strip", [](Interpreter&, const Value& s,
                 CallArgs& a) { return Value(py_strip(s.as_string(), opt_string(a, 0, "chars"), true, true)); }},
    {"lstrip", [](Interpreter&, const Value& s,
                  CallArgs& a) { return Value(py_strip(s.as_string(), opt_string(a, 0, "chars"), true, false)); }},
    {"rstrip", [](Interpreter&, const Value& s,
                  CallArgs& a) { return Value(py_strip(s.as_string(), opt_string(a, 0, "chars"), false, true)); }},
    {"split",
     [](Interpreter&, const Value& s, CallArgs& a) {
       auto sep = opt_string(a, 0, "sep");
       if (sep && sep->empty()) render_fail("empty separator");
       return string_list(py_split(s.as_string(), sep, opt_int(a, 1, "maxsplit", -1)));
     }},
    {"rsplit",
     [](Interpreter&, const Value& s, CallArgs& a) {
       auto sep = opt_string(a, 0, "sep");
       if (sep && sep->empty()) render_fail("empty separator");
       return string_list(py_split(s.as_string(), sep, opt_int(a, 1, "maxsplit", -1), true));
     }},
    {"splitlines",
     [](Interpreter&, const Value& s, CallArgs& a) {
       const Value* keep = find_arg(a, 0, "keepends");
       return string_list(py_splitlines(s.as_string(), keep != nullptr && keep->truthy()));
     }},
    {"startswith", [](Interpreter&, const Value& s, CallArgs& a) { return Value(affix_match(s, a, true)); }},
    {"endswith", [](Interpreter&, const Value& s, CallArgs& a) { return Value(affix_match(s, a, false)); }},
    {"upper", [](Interpreter&, const Value& s, CallArgs&) { return Value(py_upper(s.as_string())); }},
    {"lower", [](Interpreter&, const Value& s, CallArgs&) { return Value(py_lower(s.as_string())); }},
    {"casefold", [](Interpreter&, const Value& s, CallArgs&) { return Value(py_lower(s.as_string())); }},
    {"title", [](Interpreter&, const Value& s, CallArgs&) { return Value(py_title(s.as_string())); }},
    {"capitalize", [](Interpreter&, const Value& s, CallArgs&) { return Value(py_capitalize(s.as_string())); }},
    {"replace",
     [](Interpreter& in, const Value& s, CallArgs& a) {
       std::string out =
           py_replace(s.as_string(), need_string(a, 0, "old"), need_string(a, 1, "new"), opt_int(a, 2, "count", -1));
       in.check_size(out.size());
       return Value(std::move(out));
     }},
    {"find", [](Interpreter&, const Value& s, CallArgs& a) { return find_impl(s, a, false, false); }},
    {"rfind", [](Interpreter&, const Value& s, CallArgs& a) { return find_impl(s, a, true, false); }},
    {"index", [](Interpreter&, const Value& s, CallArgs& a) { return find_impl(s, a, false, true); }},
    {"rindex", [](Interpreter&, const Value& s, CallArgs& a) { return find_impl(s, a, true, true); }},
    {"count",
     [](Interpreter&, const Value& s, CallArgs& a) {
       const std::string& sub = need_string(a, 0, "sub");
       const Window w = str_window(s.as_string(), a);
       if (w.end - w.start < static_cast<int64_t>(utf8_length(sub))) return Value(0);
       if (sub.empty()) return Value(w.end - w.start + 1);
       const std::string_view str = std::string_view(s.as_string()).substr(w.begin, w.stop - w.begin);
       int64_t n = 0;
       for (size_t p = str.find(sub); p != std::string::npos; p = str.find(sub, p + sub.size())) ++n;
       return Value(n);
     }},
    {"join",
     [](Interpreter& in, const Value& s, CallArgs& a) {
       const Value* items = find_arg(a, 0, "iterable");
       if (!items) render_fail("join() takes exactly one argument");
       std::string out;
       bool first = true;
       for (const auto& v : in.iterate(*items)) {
         if (!v.is_string())
           render_fail("sequence item: expected str instance, " + std::string(v.type_name()) + " found");
         if (!first) out += s.as_string();
         first = false;
         out += v.as_string();
         in.check_size(out.size());
       }
       return Value(std::move(out));
     }},
    {"isdigit",
     [](Interpreter&, const Value& s, CallArgs&) { return Value(py_is_class(s.as_string(), CharClass::kDigit)); }},
    {"isdecimal",
     [](Interpreter&, const Value& s, CallArgs&) { return Value(py_is_class(s.as_string(), CharClass::kDecimal)); }},
    {"isnumeric",
     [](Interpreter&, const Value& s, CallArgs&) { return Value(py_is_class(s.as_string(), CharClass::kNumeric)); }},
    {"isalpha",
     [](Interpreter&, const Value& s, CallArgs&) { return Value(py_is_class(s.as_string(), CharClass::kAlpha)); }},
    {"isalnum",
     [](Interpreter&, const Value& s, CallArgs&) { return Value(py_is_class(s.as_string(), CharClass::kAlnum)); }},
    {"isspace", [](Interpreter&, const Value& s, CallArgs&) { return Value(py_isspace(s.as_string())); }},
    {"islower", [](Interpreter&, const Value& s, CallArgs&) { return Value(py_is_cased(s.as_string(), false)); }},
    {"isupper", [](Interpreter&, const Value& s, CallArgs&) { return Value(py_is_cased(s.as_string(), true)); }},
    {"removeprefix",
     [](Interpreter&, const Value& s, CallArgs& a) {
       const std::string& p = need_string(a, 0, "prefix");
       const std::string& str = s.as_string();
       return Value(str.compare(0, p.size(), p) == 0 ? str.substr(p.size()) : str);
     }},
    {"removesuffix",
     [](Interpreter&, const Value& s, CallArgs& a) {
       const std::string& p = need_string(a, 0, "suffix");
       const std::string& str = s.as_string();
       bool hit = !p.empty() && p.size() <= str.size() && str.compare(str.size() - p.size(), p.size(), p) == 0;
       return Value(hit ? str.substr(0, str.size() - p.size()) : str);
     }},
};

const std::pair<std::string_view, Method> kListMethods[] = {
    {"index",
     [](Interpreter&, const Value& self, CallArgs& a) {
       const Value* x = find_arg(a, 0, "value");
       if (!x) render_fail("index() takes at least 1 argument");
       const List& items = self.as_list();
       for (size_t i = 0; i < items.size(); ++i)
         if (equals(items[i], *x)) return Value(static_cast<int64_t>(i));
       render_fail("value is not in list");
     }},
    {"count",
     [](Interpreter&, const Value& self, CallArgs& a) {
       const Value* x = find_arg(a, 0, "value");
       if (!x) render_fail("count() takes exactly one argument");
       int64_t n = 0;
       for (const auto& v : self.as_list()) n += equals(v, *x);
       return Value(n);
     }},
};

const std::pair<std::string_view, Method> kDictMethods[] = {
    {"items",
     [](Interpreter&, const Value& self, CallArgs&) {
       List out;
       out.reserve(self.as_dict().items.size());
       for (const auto& [k, v] : self.as_dict().items) out.push_back(Value::tuple({Value(k), v}));
       return Value::list(std::move(out));
     }},
    {"keys",
     [](Interpreter&, const Value& self, CallArgs&) {
       List out;
       for (const auto& kv : self.as_dict().items) out.emplace_back(kv.first);
       return Value::list(std::move(out));
     }},
    {"values",
     [](Interpreter&, const Value& self, CallArgs&) {
       List out;
       for (const auto& kv : self.as_dict().items) out.push_back(kv.second);
       return Value::list(std::move(out));
     }},
    {"get",
     [](Interpreter&, const Value& self, CallArgs& a) {
       if (!a.keyword.empty()) render_fail("dict.get() takes no keyword arguments");  // as Python's
       const Value* key = find_arg(a, 0, "key");
       if (!key) render_fail("get expected at least 1 argument, got 0");
       if (key->is_string()) {
         if (const Value* v = self.as_dict().find(key->as_string())) return *v;
       }
       return arg_or(a, 1, "default", Value::none());
     }},
    {"copy", [](Interpreter&, const Value& self, CallArgs&) { return Value::dict(self.as_dict()); }},
};

constexpr std::string_view kUnsafeList[] = {"append", "extend", "insert", "pop", "remove", "clear", "sort", "reverse"};
constexpr std::string_view kUnsafeDict[] = {"pop", "popitem", "setdefault", "update", "clear"};

template <size_t N>
std::optional<Value> bind(const std::pair<std::string_view, Method> (&table)[N], const Value& self,
                          std::string_view name) {
  for (const auto& [n, m] : table) {
    if (n != name) continue;
    Method method = m;
    return Value::callable(std::string(name),
                           [self, method](Interpreter& in, CallArgs& args) { return method(in, self, args); });
  }
  return std::nullopt;
}

template <size_t N>
std::optional<Value> unsafe(const std::string_view (&names)[N], const Value& self, std::string_view name) {
  for (auto n : names) {
    if (n != name) continue;
    std::string message =
        "access to attribute '" + std::string(name) + "' of '" + std::string(self.type_name()) + "' object is unsafe.";
    return Value::callable(std::string(name), [message](Interpreter&, CallArgs&) -> Value { render_fail(message); });
  }
  return std::nullopt;
}

}  // namespace

std::optional<Value> get_method(const Value& obj, std::string_view name) {
  switch (obj.kind()) {
    case Kind::kString: return bind(kStringMethods, obj, name);
    case Kind::kList:
      if (auto m = bind(kListMethods, obj, name)) return m;
      return unsafe(kUnsafeList, obj, name);
    case Kind::kTuple: return bind(kListMethods, obj, name);
    case Kind::kDict:
      if (auto m = bind(kDictMethods, obj, name)) return m;
      return unsafe(kUnsafeDict, obj, name);
    default: return std::nullopt;
  }
}

}  // namespace turbolm::jinja
