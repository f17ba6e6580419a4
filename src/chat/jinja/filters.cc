// jinja2's builtin filters (the subset chat templates use), with transformers' tojson override.
#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <unordered_map>

#include "chat/jinja/errors.h"
#include "chat/jinja/interpreter.h"
#include "chat/jinja/strings.h"

namespace turbolm::jinja {
namespace {

using Filter = Value (*)(Interpreter&, const Value&, CallArgs&);

// Dotted attribute path ("function.name") or integer index, as jinja2's make_attrgetter resolves it.
Value get_path(Interpreter& in, const Value& obj, const Value& attribute) {
  if (attribute.is_int()) return in.getitem(obj, attribute);
  Value cur = obj;
  std::string path = to_str(attribute);
  size_t start = 0;
  while (true) {
    size_t dot = path.find('.', start);
    std::string part = path.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    bool numeric = !part.empty() && std::all_of(part.begin(), part.end(), ::isdigit);
    if (numeric) {
      // Digits past int64 name no item either: the largest index stands for them (undefined, as in Python).
      int64_t index = std::numeric_limits<int64_t>::max();
      std::from_chars(part.data(), part.data() + part.size(), index);
      cur = in.getitem(cur, Value(index));
    } else {
      cur = in.getitem(cur, Value(part));
    }
    if (dot == std::string::npos) return cur;
    start = dot + 1;
  }
}

// Items for sort/unique/min/max: case-insensitive string keys unless case_sensitive, as jinja2 does.
Value sort_key(const Value& v, bool case_sensitive) {
  return !case_sensitive && v.is_string() ? Value(py_lower(v.as_string())) : v;
}

Value do_default(Interpreter&, const Value& v, CallArgs& a) {
  bool boolean = arg_or(a, 1, "boolean", Value(false)).truthy();
  if (v.is_undefined() || (boolean && !v.truthy())) return arg_or(a, 0, "default_value", Value(""));
  return v;
}

Value do_length(Interpreter&, const Value& v, CallArgs&) {
  switch (v.kind()) {
    case Kind::kString: return Value(static_cast<int64_t>(utf8_length(v.as_string())));
    case Kind::kList:
    case Kind::kTuple: return Value(static_cast<int64_t>(v.as_list().size()));
    case Kind::kDict: return Value(static_cast<int64_t>(v.as_dict().items.size()));
    case Kind::kUndefined: return Value(0);
    default: render_fail("object of type '" + std::string(v.type_name()) + "' has no len()");
  }
}

Value do_tojson(Interpreter& in, const Value& v, CallArgs& a) {
  // json.dumps: no indent is one line; an int indent means that many spaces, a string is used as is.
  const Value indent_arg = arg_or(a, 1, "indent", Value::none());
  std::optional<std::string> indent;
  if (indent_arg.is_string()) {
    indent = indent_arg.as_string();
  } else if (!indent_arg.is_none() && !indent_arg.is_undefined()) {
    indent = in.spaces(indent_arg.as_int());
  }
  std::string s =
      to_json(v, indent, arg_or(a, 2, "separators", Value::none()), arg_or(a, 3, "sort_keys", Value(false)).truthy());
  // transformers' tojson takes ensure_ascii first (default False, as it leaves text readable).
  if (arg_or(a, 0, "ensure_ascii", Value(false)).truthy()) s = ascii_escaped_json(s);
  in.check_size(s.size());
  return Value(std::move(s));
}

Value do_join(Interpreter& in, const Value& v, CallArgs& a) {
  std::string sep = to_str(arg_or(a, 0, "d", Value("")));
  const Value* attribute = find_arg(a, 1, "attribute");
  std::string out;
  bool first = true;
  for (const auto& item : in.iterate(v)) {
    if (!first) out += sep;
    first = false;
    append_str(out, attribute ? get_path(in, item, *attribute) : item);
    in.check_size(out.size());
  }
  return Value(std::move(out));
}

Value do_first(Interpreter& in, const Value& v, CallArgs&) {
  List items = in.iterate(v);
  return items.empty() ? Value::undefined("No first item, sequence was empty.") : items.front();
}

Value do_last(Interpreter& in, const Value& v, CallArgs&) {
  List items = in.iterate(v);
  return items.empty() ? Value::undefined("No last item, sequence was empty.") : items.back();
}

Value do_items(Interpreter&, const Value& v, CallArgs&) {
  if (v.is_undefined()) return Value::list({});
  if (!v.is_dict()) render_fail("Can only get item pairs from a mapping.");
  List out;
  for (const auto& [k, item] : v.as_dict().items) out.push_back(Value::tuple({Value(k), item}));
  return Value::list(std::move(out));
}

Value do_dictsort(Interpreter&, const Value& v, CallArgs& a) {
  if (!v.is_dict()) render_fail("You can only sort by either \"key\" or \"value\"");
  bool case_sensitive = arg_or(a, 0, "case_sensitive", Value(false)).truthy();
  bool by_value = to_str(arg_or(a, 1, "by", Value("key"))) == "value";
  bool reverse = arg_or(a, 2, "reverse", Value(false)).truthy();
  List out;
  for (const auto& [k, item] : v.as_dict().items) out.push_back(Value::tuple({Value(k), item}));
  std::stable_sort(out.begin(), out.end(), [&](const Value& x, const Value& y) {
    const Value& kx = x.as_list()[by_value ? 1 : 0];
    const Value& ky = y.as_list()[by_value ? 1 : 0];
    int c = compare(sort_key(kx, case_sensitive), sort_key(ky, case_sensitive));
    return reverse ? c > 0 : c < 0;
  });
  return Value::list(std::move(out));
}

Value do_list(Interpreter& in, const Value& v, CallArgs&) { return Value::list(in.iterate(v)); }

Value do_string(Interpreter&, const Value& v, CallArgs&) { return v.is_string() ? v : Value(to_str(v)); }

// int(x) of a finite float; integers are 64-bit here (Python's would grow).
Value truncated(double f) {
  const double t = std::trunc(f);
  if (!(t >= -0x1p63 && t < 0x1p63)) render_fail("int() of " + std::to_string(f) + " does not fit 64 bits");
  return Value(static_cast<int64_t>(t));
}

Value do_int(Interpreter&, const Value& v, CallArgs& a) {
  Value fallback = arg_or(a, 0, "default", Value(0));
  if (v.is_int() || v.is_bool()) return Value(v.as_int());
  if (v.is_float()) return std::isfinite(v.as_float()) ? truncated(v.as_float()) : fallback;
  if (v.is_string()) {
    if (auto n = py_int(v.as_string(), arg_or(a, 1, "base", Value(10)).as_int())) return Value(*n);
    std::string s = py_strip(v.as_string(), std::nullopt, true, true);
    char* end = nullptr;
    double f = std::strtod(s.c_str(), &end);  // jinja2 falls back to int(float(s))
    if (!s.empty() && end && *end == '\0' && std::isfinite(f)) return truncated(f);
  }
  return fallback;
}

Value do_float(Interpreter&, const Value& v, CallArgs& a) {
  Value fallback = arg_or(a, 0, "default", Value(0.0));
  if (v.is_number()) return Value(v.as_float());
  if (v.is_string()) {
    std::string s = py_strip(v.as_string(), std::nullopt, true, true);
    char* end = nullptr;
    double f = std::strtod(s.c_str(), &end);
    if (!s.empty() && end && *end == '\0') return Value(f);
  }
  return fallback;
}

Value do_trim(Interpreter&, const Value& v, CallArgs& a) {
  const Value* chars = find_arg(a, 0, "chars");
  std::optional<std::string> set;
  if (chars && !chars->is_none()) set = to_str(*chars);
  return Value(py_strip(to_str(v), set, true, true));
}

Value do_upper(Interpreter&, const Value& v, CallArgs&) { return Value(py_upper(to_str(v))); }
Value do_lower(Interpreter&, const Value& v, CallArgs&) { return Value(py_lower(to_str(v))); }
Value do_capitalize(Interpreter&, const Value& v, CallArgs&) { return Value(py_capitalize(to_str(v))); }

Value do_title(Interpreter&, const Value& v, CallArgs&) {
  // jinja2's own title(): words start after whitespace, '-', '(', '{', '[' or '<'.
  std::string s = to_str(v), out, word;
  auto flush = [&] {
    if (word.empty()) return;
    auto chars = utf8_chars(word);
    out += py_upper(chars[0]);
    out += py_lower(std::string_view(word).substr(chars[0].size()));
    word.clear();
  };
  for (auto c : utf8_chars(s)) {
    bool sep = py_isspace(c) || c == "-" || c == "(" || c == "{" || c == "[" || c == "<";
    if (sep) {
      flush();
      out += c;
    } else {
      word += c;
    }
  }
  flush();
  return Value(std::move(out));
}

Value do_replace(Interpreter& in, const Value& v, CallArgs& a) {
  const Value* old = find_arg(a, 0, "old");
  const Value* replacement = find_arg(a, 1, "new");
  if (!old || !replacement) render_fail("replace() needs 'old' and 'new'");
  const Value* count = find_arg(a, 2, "count");
  std::string out =
      py_replace(to_str(v), to_str(*old), to_str(*replacement), count && !count->is_none() ? count->as_int() : -1);
  in.check_size(out.size());
  return Value(std::move(out));
}

Value do_indent(Interpreter& in, const Value& v, CallArgs& a) {
  Value width = arg_or(a, 0, "width", Value(4));
  std::string indention = width.is_string() ? width.as_string() : in.spaces(width.as_int());
  bool first = arg_or(a, 1, "first", Value(false)).truthy();
  bool blank = arg_or(a, 2, "blank", Value(false)).truthy();
  std::vector<std::string> lines = py_splitlines(to_str(v) + "\n");  // jinja2 appends "\n" before splitlines
  std::string out;
  for (size_t i = 0; i < lines.size(); ++i) {
    if (i) {
      out += "\n";
      if (blank || !lines[i].empty()) out += indention;
    }
    out += lines[i];
    in.check_size(out.size());  // every line gains the indention: the growth is lines x width
  }
  if (first) out = indention + out;
  in.check_size(out.size());
  return Value(std::move(out));
}

Value do_reverse(Interpreter& in, const Value& v, CallArgs&) {
  if (v.is_string()) {
    auto chars = utf8_chars(v.as_string());
    std::string out;
    for (auto it = chars.rbegin(); it != chars.rend(); ++it) out += *it;
    return Value(std::move(out));
  }
  List items = in.iterate(v);
  std::reverse(items.begin(), items.end());
  return Value::list(std::move(items));
}

Value do_sort(Interpreter& in, const Value& v, CallArgs& a) {
  bool reverse = arg_or(a, 0, "reverse", Value(false)).truthy();
  bool case_sensitive = arg_or(a, 1, "case_sensitive", Value(false)).truthy();
  const Value* attribute = find_arg(a, 2, "attribute");
  List items = in.iterate(v);
  std::stable_sort(items.begin(), items.end(), [&](const Value& x, const Value& y) {
    Value kx = sort_key(attribute ? get_path(in, x, *attribute) : x, case_sensitive);
    Value ky = sort_key(attribute ? get_path(in, y, *attribute) : y, case_sensitive);
    return reverse ? compare(kx, ky) > 0 : compare(kx, ky) < 0;
  });
  return Value::list(std::move(items));
}

Value do_unique(Interpreter& in, const Value& v, CallArgs& a) {
  bool case_sensitive = arg_or(a, 0, "case_sensitive", Value(false)).truthy();
  const Value* attribute = find_arg(a, 1, "attribute");
  List out, seen;
  for (const auto& item : in.iterate(v)) {
    Value key = sort_key(attribute ? get_path(in, item, *attribute) : item, case_sensitive);
    bool dup = false;
    for (const auto& s : seen) dup = dup || equals(s, key);
    if (dup) continue;
    seen.push_back(key);
    out.push_back(item);
  }
  return Value::list(std::move(out));
}

Value min_max(Interpreter& in, const Value& v, CallArgs& a, bool want_max) {
  bool case_sensitive = arg_or(a, 0, "case_sensitive", Value(false)).truthy();
  const Value* attribute = find_arg(a, 1, "attribute");
  List items = in.iterate(v);
  if (items.empty()) return Value::undefined("No aggregated item, sequence was empty.");
  size_t best = 0;
  for (size_t i = 1; i < items.size(); ++i) {
    Value ki = sort_key(attribute ? get_path(in, items[i], *attribute) : items[i], case_sensitive);
    Value kb = sort_key(attribute ? get_path(in, items[best], *attribute) : items[best], case_sensitive);
    if (want_max ? compare(ki, kb) > 0 : compare(ki, kb) < 0) best = i;
  }
  return items[best];
}

Value do_min(Interpreter& in, const Value& v, CallArgs& a) { return min_max(in, v, a, false); }
Value do_max(Interpreter& in, const Value& v, CallArgs& a) { return min_max(in, v, a, true); }

Value do_sum(Interpreter& in, const Value& v, CallArgs& a) {
  const Value* attribute = find_arg(a, 0, "attribute");
  Value total = arg_or(a, 1, "start", Value(0));
  for (const auto& item : in.iterate(v)) {
    Value x = attribute ? get_path(in, item, *attribute) : item;
    if (!x.is_number() || !total.is_number()) render_fail("unsupported operand type(s) for +");
    total =
        total.is_float() || x.is_float() ? Value(total.as_float() + x.as_float()) : Value(total.as_int() + x.as_int());
  }
  return total;
}

Value do_abs(Interpreter&, const Value& v, CallArgs&) {
  if (v.is_float()) return Value(std::fabs(v.as_float()));
  if (v.is_number()) return Value(std::abs(v.as_int()));
  render_fail("bad operand type for abs(): '" + std::string(v.type_name()) + "'");
}

Value do_round(Interpreter&, const Value& v, CallArgs& a) {
  int64_t precision = arg_or(a, 0, "precision", Value(0)).as_int();
  std::string method = to_str(arg_or(a, 1, "method", Value("common")));
  double scale = std::pow(10.0, static_cast<double>(precision));
  if (method == "ceil" || method == "floor") {  // jinja2: math.ceil / floor(value * 10**p) / 10**p, a float
    const double x = v.as_float() * scale;
    return Value((method == "ceil" ? std::ceil(x) : std::floor(x)) / scale);
  }
  // "common" is Python's round(value, precision): an int stays an int; a float rounds its exact decimal value
  // (2.675 is 2.67499999..., so 2.67), exact ties to the even neighbour -- what printf's %.*f does.
  if (v.is_int()) {
    if (precision >= 0) return v;
    if (precision < -18) return Value(int64_t{0});
    int64_t m = 1;
    for (int64_t i = 0; i < -precision; ++i) m *= 10;
    int64_t q = v.as_int() / m, r = v.as_int() % m;
    if (r < 0) r += m, --q;                              // floor division
    if (2 * r > m || (2 * r == m && (q & 1) != 0)) ++q;  // half to even
    return Value(q * m);
  }
  if (precision < 0 || precision > 300) return Value(std::nearbyint(v.as_float() * scale) / scale);
  char buf[512];
  std::snprintf(buf, sizeof(buf), "%.*f", static_cast<int>(precision), v.as_float());
  return Value(std::strtod(buf, nullptr));
}

Value do_safe(Interpreter&, const Value& v, CallArgs&) { return v; }

Value do_escape(Interpreter&, const Value& v, CallArgs&) {
  std::string out;
  for (char c : to_str(v)) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&#34;"; break;
      case '\'': out += "&#39;"; break;
      default: out.push_back(c);
    }
  }
  return Value(std::move(out));
}

Value do_format(Interpreter& in, const Value& v, CallArgs& a) {
  if (!a.keyword.empty()) {
    Dict d;
    for (const auto& [k, x] : a.keyword) d.set(k, x);
    return Value(percent_format(in, to_str(v), Value::dict(std::move(d))));
  }
  return Value(percent_format(in, to_str(v), Value::tuple(a.positional)));
}

Value do_wordcount(Interpreter&, const Value& v, CallArgs&) {
  return Value(static_cast<int64_t>(py_word_count(to_str(v))));  // jinja2: len(re.findall(r"\w+", s))
}

Value do_center(Interpreter& in, const Value& v, CallArgs& a) {
  std::string s = to_str(v);
  int64_t width = arg_or(a, 0, "width", Value(80)).as_int();
  int64_t len = static_cast<int64_t>(utf8_length(s));
  if (width <= len) return Value(s);
  int64_t pad = width - len, left = pad / 2 + (pad & width & 1);  // CPython's str.center split
  return Value(in.spaces(left) + s + in.spaces(pad - left));
}

// jinja2's attr looks up the attribute only, never an item: {'name': 'x'}|attr('name') is undefined. Values here
// have attributes only through their methods (d.items, s.upper) and namespaces.
Value do_attr(Interpreter& in, const Value& v, CallArgs& a) {
  const Value* name = find_arg(a, 0, "name");
  if (!name) render_fail("attr() needs a name");
  const std::string key = to_str(*name);
  // A dict's attributes are its methods: looked up on an empty dict, its items cannot answer.
  if (v.is_dict() && in.getattr(Value::dict(Dict{}), key).is_undefined())
    return Value::undefined("'dict object' has no attribute '" + key + "'");
  return in.getattr(v, key);
}

Value do_batch(Interpreter& in, const Value& v, CallArgs& a) {
  int64_t size = arg_or(a, 0, "linecount", Value(1)).as_int();
  if (size <= 0) render_fail("batch size must be positive");
  const Value* fill = find_arg(a, 1, "fill_with");
  List out, cur;
  for (auto& item : in.iterate(v)) {
    cur.push_back(std::move(item));
    if (static_cast<int64_t>(cur.size()) == size) out.push_back(Value::list(std::move(cur))), cur.clear();
  }
  if (!cur.empty()) {
    if (fill && !fill->is_none())
      while (static_cast<int64_t>(cur.size()) < size) cur.push_back(*fill);
    out.push_back(Value::list(std::move(cur)));
  }
  return Value::list(std::move(out));
}

// select / reject / selectattr / rejectattr share one shape: an optional attribute, a test name and its args.
Value select_impl(Interpreter& in, const Value& v, CallArgs& a, bool by_attr, bool keep_when) {
  size_t next = 0;
  Value attribute;
  if (by_attr) {
    if (a.positional.empty()) render_fail("selectattr/rejectattr need an attribute name");
    attribute = a.positional[next++];
  }
  std::string test;
  if (next < a.positional.size()) test = to_str(a.positional[next++]);
  CallArgs test_args;
  test_args.positional.assign(a.positional.begin() + next, a.positional.end());
  test_args.keyword = a.keyword;
  List out;
  for (const auto& item : in.iterate(v)) {
    Value subject = by_attr ? get_path(in, item, attribute) : item;
    CallArgs copy = test_args;
    bool ok = test.empty() ? subject.truthy() : apply_test(in, test, subject, copy);
    if (ok == keep_when) out.push_back(item);
  }
  return Value::list(std::move(out));
}

Value do_select(Interpreter& in, const Value& v, CallArgs& a) { return select_impl(in, v, a, false, true); }
Value do_reject(Interpreter& in, const Value& v, CallArgs& a) { return select_impl(in, v, a, false, false); }
Value do_selectattr(Interpreter& in, const Value& v, CallArgs& a) { return select_impl(in, v, a, true, true); }
Value do_rejectattr(Interpreter& in, const Value& v, CallArgs& a) { return select_impl(in, v, a, true, false); }

Value do_map(Interpreter& in, const Value& v, CallArgs& a) {
  List out;
  if (const Value* attribute = find_arg(a, 99, "attribute")) {
    const Value* fallback = find_arg(a, 99, "default");
    for (const auto& item : in.iterate(v)) {
      Value x = get_path(in, item, *attribute);
      out.push_back(x.is_undefined() && fallback ? *fallback : x);
    }
    return Value::list(std::move(out));
  }
  if (a.positional.empty()) render_fail("map() needs a filter name or attribute=");
  std::string filter = to_str(a.positional[0]);
  CallArgs rest;
  rest.positional.assign(a.positional.begin() + 1, a.positional.end());
  rest.keyword = a.keyword;
  for (const auto& item : in.iterate(v)) {
    CallArgs copy = rest;
    out.push_back(apply_filter(in, filter, item, copy));
  }
  return Value::list(std::move(out));
}

const std::unordered_map<std::string_view, Filter>& filters() {
  static const std::unordered_map<std::string_view, Filter> table = {
      {"abs", do_abs},
      {"attr", do_attr},
      {"batch", do_batch},
      {"capitalize", do_capitalize},
      {"center", do_center},
      {"count", do_length},
      {"d", do_default},
      {"default", do_default},
      {"dictsort", do_dictsort},
      {"e", do_escape},
      {"escape", do_escape},
      {"first", do_first},
      {"float", do_float},
      {"format", do_format},
      {"indent", do_indent},
      {"int", do_int},
      {"items", do_items},
      {"join", do_join},
      {"last", do_last},
      {"length", do_length},
      {"list", do_list},
      {"lower", do_lower},
      {"map", do_map},
      {"max", do_max},
      {"min", do_min},
      {"reject", do_reject},
      {"rejectattr", do_rejectattr},
      {"replace", do_replace},
      {"reverse", do_reverse},
      {"round", do_round},
      {"safe", do_safe},
      {"select", do_select},
      {"selectattr", do_selectattr},
      {"sort", do_sort},
      {"string", do_string},
      {"sum", do_sum},
      {"title", do_title},
      {"tojson", do_tojson},
      {"trim", do_trim},
      {"unique", do_unique},
      {"upper", do_upper},
      {"wordcount", do_wordcount},
  };
  return table;
}

}  // namespace

bool has_filter(std::string_view name) { return filters().count(name) > 0; }

Value apply_filter(Interpreter& in, std::string_view name, const Value& input, CallArgs& args) {
  auto it = filters().find(name);
  if (it == filters().end()) render_fail("No filter named '" + std::string(name) + "'.");
  return it->second(in, input, args);
}

}  // namespace turbolm::jinja
