// jinja2's tests (`is defined`, `is string`, ...) and the globals transformers installs:
// range, dict, namespace, raise_exception, strftime_now, plus jinja2's cycler and joiner.
#include <fmt/format.h>

#include <ctime>
#include <unordered_map>

#include "chat/jinja/errors.h"
#include "chat/jinja/interpreter.h"
#include "chat/jinja/strings.h"

namespace turbolm::jinja {
namespace {

using Test = bool (*)(Interpreter&, const Value&, CallArgs&);

const Value& need(const CallArgs& a, std::string_view test) {
  if (a.positional.empty()) render_fail("test '" + std::string(test) + "' needs an argument");
  return a.positional[0];
}

bool cmp_test(const Value& v, const CallArgs& a, std::string_view op) {
  const Value& o = need(a, op);
  if (op == "eq") return equals(v, o);
  if (op == "ne") return !equals(v, o);
  int c = compare(v, o);
  if (op == "lt") return c < 0;
  if (op == "le") return c <= 0;
  if (op == "gt") return c > 0;
  return c >= 0;
}

const std::unordered_map<std::string_view, Test>& tests() {
  static const std::unordered_map<std::string_view, Test> table = {
      {"defined", [](Interpreter&, const Value& v, CallArgs&) { return !v.is_undefined(); }},
      {"undefined", [](Interpreter&, const Value& v, CallArgs&) { return v.is_undefined(); }},
      {"none", [](Interpreter&, const Value& v, CallArgs&) { return v.is_none(); }},
      {"boolean", [](Interpreter&, const Value& v, CallArgs&) { return v.is_bool(); }},
      {"false", [](Interpreter&, const Value& v, CallArgs&) { return v.is_bool() && !v.as_bool(); }},
      {"true", [](Interpreter&, const Value& v, CallArgs&) { return v.is_bool() && v.as_bool(); }},
      {"integer", [](Interpreter&, const Value& v, CallArgs&) { return v.is_int(); }},
      {"float", [](Interpreter&, const Value& v, CallArgs&) { return v.is_float(); }},
      {"number", [](Interpreter&, const Value& v, CallArgs&) { return v.is_number(); }},
      {"string", [](Interpreter&, const Value& v, CallArgs&) { return v.is_string(); }},
      {"mapping", [](Interpreter&, const Value& v, CallArgs&) { return v.is_dict(); }},
      // Undefined iterates (as empty), so jinja2 calls it iterable.
      {"iterable", [](Interpreter&, const Value& v,
                      CallArgs&) { return v.is_string() || v.is_sequence() || v.is_dict() || v.is_undefined(); }},
      {"sequence",
       [](Interpreter&, const Value& v, CallArgs&) { return v.is_string() || v.is_sequence() || v.is_dict(); }},
      {"callable", [](Interpreter&, const Value& v, CallArgs&) { return v.is_callable(); }},
      {"sameas",
       [](Interpreter&, const Value& v, CallArgs& a) {
         const Value& o = need(a, "sameas");
         // Identity: None/bool singletons (and CPython's cached small ints) compare by value,
         // containers by their shared storage.
         if (v.kind() != o.kind()) return false;
         if (v.is_none() || v.is_bool() || v.is_int()) return equals(v, o);
         return v.same_object(o);
       }},
      {"eq", [](Interpreter&, const Value& v, CallArgs& a) { return cmp_test(v, a, "eq"); }},
      {"equalto", [](Interpreter&, const Value& v, CallArgs& a) { return cmp_test(v, a, "eq"); }},
      {"==", [](Interpreter&, const Value& v, CallArgs& a) { return cmp_test(v, a, "eq"); }},
      {"ne", [](Interpreter&, const Value& v, CallArgs& a) { return cmp_test(v, a, "ne"); }},
      {"!=", [](Interpreter&, const Value& v, CallArgs& a) { return cmp_test(v, a, "ne"); }},
      {"lt", [](Interpreter&, const Value& v, CallArgs& a) { return cmp_test(v, a, "lt"); }},
      {"lessthan", [](Interpreter&, const Value& v, CallArgs& a) { return cmp_test(v, a, "lt"); }},
      {"<", [](Interpreter&, const Value& v, CallArgs& a) { return cmp_test(v, a, "lt"); }},
      {"le", [](Interpreter&, const Value& v, CallArgs& a) { return cmp_test(v, a, "le"); }},
      {"<=", [](Interpreter&, const Value& v, CallArgs& a) { return cmp_test(v, a, "le"); }},
      {"gt", [](Interpreter&, const Value& v, CallArgs& a) { return cmp_test(v, a, "gt"); }},
      {"greaterthan", [](Interpreter&, const Value& v, CallArgs& a) { return cmp_test(v, a, "gt"); }},
      {">", [](Interpreter&, const Value& v, CallArgs& a) { return cmp_test(v, a, "gt"); }},
      {"ge", [](Interpreter&, const Value& v, CallArgs& a) { return cmp_test(v, a, "ge"); }},
      {">=", [](Interpreter&, const Value& v, CallArgs& a) { return cmp_test(v, a, "ge"); }},
      {"in",
       [](Interpreter&, const Value& v, CallArgs& a) {
         const Value& c = need(a, "in");
         if (c.is_string()) return v.is_string() && c.as_string().find(v.as_string()) != std::string::npos;
         if (c.is_dict()) return v.is_string() && c.as_dict().find(v.as_string()) != nullptr;
         for (const auto& x : c.is_sequence() ? c.as_list() : List{})
           if (equals(x, v)) return true;
         return false;
       }},
      {"divisibleby",
       [](Interpreter&, const Value& v, CallArgs& a) {
         const Value& n = need(a, "divisibleby");
         if (n.as_int() == 0) render_fail("integer division or modulo by zero");
         return v.as_int() % n.as_int() == 0;
       }},
      {"even", [](Interpreter&, const Value& v, CallArgs&) { return v.as_int() % 2 == 0; }},
      {"odd", [](Interpreter&, const Value& v, CallArgs&) { return v.as_int() % 2 != 0; }},
      {"lower", [](Interpreter&, const Value& v, CallArgs&) { return py_is_cased(to_str(v), false); }},
      {"upper", [](Interpreter&, const Value& v, CallArgs&) { return py_is_cased(to_str(v), true); }},
      {"escaped", [](Interpreter&, const Value&, CallArgs&) { return false; }},
      {"filter", [](Interpreter&, const Value& v, CallArgs&) { return v.is_string() && has_filter(v.as_string()); }},
      {"test", [](Interpreter&, const Value& v, CallArgs&) { return v.is_string() && has_test(v.as_string()); }},
  };
  return table;
}

Value make_range(Interpreter& in, CallArgs& a) {
  for (const auto& v : a.positional)
    if (!v.is_int() && !v.is_bool())
      render_fail(fmt::format("'{}' object cannot be interpreted as an integer", v.type_name()));
  int64_t start = 0, stop = 0, step = 1;
  if (a.positional.size() == 1) {
    stop = a.positional[0].as_int();
  } else if (a.positional.size() >= 2) {
    start = a.positional[0].as_int();
    stop = a.positional[1].as_int();
    if (a.positional.size() >= 3) step = a.positional[2].as_int();
  } else {
    render_fail("range expected at least 1 argument, got 0");
  }
  if (step == 0) render_fail("range() arg 3 must not be zero");
  __int128 count = step > 0 ? (stop > start ? ((__int128)stop - start + step - 1) / step : 0)
                            : (start > stop ? ((__int128)start - stop - step - 1) / -step : 0);
  // The same cap as jinja2's sandbox (MAX_RANGE).
  if (count > 100000) render_fail("Range too big. The sandbox blocks ranges larger than MAX_RANGE (100000).");
  in.count_iterations(static_cast<int64_t>(count));
  List out;
  out.reserve(static_cast<size_t>(count));
  for (int64_t i = 0; i < count; ++i) out.emplace_back(start + i * step);
  return Value::list(std::move(out));
}

Value make_namespace(Interpreter&, CallArgs& a) {
  Dict d;
  for (const auto& p : a.positional) {
    if (!p.is_dict()) render_fail("namespace() positional argument must be a mapping");
    for (const auto& [k, v] : p.as_dict().items) d.set(k, v);
  }
  for (const auto& [k, v] : a.keyword) d.set(k, v);
  for (const auto& [k, v] : d.items) {
    if (!k.empty() && k[0] == '_')
      render_fail("Chat templates cannot store underscore-prefixed attributes on a namespace, but got '" + k +
                  "'. Please rename the attribute.");
  }
  return Value::ns(std::move(d));
}

Value make_dict(Interpreter&, CallArgs& a) {
  Dict d;
  for (const auto& p : a.positional) {
    if (!p.is_dict()) render_fail("dict() positional argument must be a mapping");
    for (const auto& [k, v] : p.as_dict().items) d.set(k, v);
  }
  for (const auto& [k, v] : a.keyword) d.set(k, v);
  return Value::dict(std::move(d));
}

Value raise_exception(Interpreter&, CallArgs& a) {
  throw RenderError(a.positional.empty() ? std::string() : to_str(a.positional[0]), /*user_raised=*/true);
}

Value strftime_now(Interpreter& in, CallArgs& a) {
  if (a.positional.empty() || !a.positional[0].is_string()) render_fail("strftime_now() needs a format string");
  std::tm tm{};
  if (in.options().fixed_time) {
    tm = *in.options().fixed_time;
  } else {
    std::time_t now = std::time(nullptr);
    localtime_r(&now, &tm);
  }
  std::string out(256, '\0');
  size_t n = std::strftime(out.data(), out.size(), a.positional[0].as_string().c_str(), &tm);
  out.resize(n);
  return Value(std::move(out));
}

Value make_joiner(Interpreter&, CallArgs& a) {
  std::string sep = to_str(arg_or(a, 0, "sep", Value(", ")));
  auto used = std::make_shared<bool>(false);
  return Value::callable("joiner", [sep, used](Interpreter&, CallArgs&) -> Value {
    if (!*used) {
      *used = true;
      return Value("");
    }
    return Value(sep);
  });
}

const std::unordered_map<std::string_view, Value>& globals() {
  static const std::unordered_map<std::string_view, Value> table = {
      {"range", Value::callable("range", make_range)},
      {"namespace", Value::callable("namespace", make_namespace)},
      {"dict", Value::callable("dict", make_dict)},
      {"raise_exception", Value::callable("raise_exception", raise_exception)},
      {"strftime_now", Value::callable("strftime_now", strftime_now)},
      {"joiner", Value::callable("joiner", make_joiner)},
  };
  return table;
}

}  // namespace

bool has_test(std::string_view name) { return tests().count(name) > 0; }

bool apply_test(Interpreter& in, std::string_view name, const Value& input, CallArgs& args) {
  auto it = tests().find(name);
  if (it == tests().end()) render_fail("No test named '" + std::string(name) + "'.");
  return it->second(in, input, args);
}

const Value* find_global(std::string_view name) {
  auto it = globals().find(name);
  return it == globals().end() ? nullptr : &it->second;
}

}  // namespace turbolm::jinja
