#include "chat/jinja/value.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>

#include "chat/jinja/errors.h"
#include "chat/jinja/strings.h"
#include "core/error.h"

namespace turbolm::jinja {

const Value* Dict::find(std::string_view key) const {
  for (const auto& [k, v] : items)
    if (k == key) return &v;
  return nullptr;
}

Value* Dict::find(std::string_view key) {
  for (auto& [k, v] : items)
    if (k == key) return &v;
  return nullptr;
}

void Dict::set(std::string key, Value value) {
  if (Value* slot = find(key)) {
    *slot = std::move(value);
  } else {
    items.emplace_back(std::move(key), std::move(value));
  }
}

namespace {

template <typename Items, typename Get>
void measure(const Items& items, Get get, uint16_t& depth, bool& holds_namespace) {
  int d = 0;
  for (const auto& item : items) {
    const Value& v = get(item);
    d = std::max(d, v.depth());
    holds_namespace = holds_namespace || v.holds_namespace();
  }
  if (d + 1 > Value::kMaxNesting)
    render_fail("data nested deeper than " + std::to_string(Value::kMaxNesting) + " levels");
  depth = static_cast<uint16_t>(d + 1);
}

const Value& self(const Value& v) { return v; }
const Value& second(const std::pair<std::string, Value>& kv) { return kv.second; }

}  // namespace

Value Value::list(List items) {
  Value v(Kind::kList, nullptr);
  measure(items, self, v.depth_, v.holds_namespace_);
  v.ptr_ = std::make_shared<List>(std::move(items));
  return v;
}

Value Value::tuple(List items) {
  Value v = list(std::move(items));
  v.kind_ = Kind::kTuple;
  return v;
}

Value Value::dict(Dict d) {
  Value v(Kind::kDict, nullptr);
  measure(d.items, second, v.depth_, v.holds_namespace_);
  v.ptr_ = std::make_shared<Dict>(std::move(d));
  return v;
}

Value Value::ns(Dict d) {
  Value v(Kind::kNamespace, nullptr);
  bool nested = false;
  measure(d.items, second, v.depth_, nested);
  // A namespace inside a namespace could become a cycle once attributes are assigned; templates never need it.
  if (nested) render_fail("a namespace cannot hold another namespace");
  v.holds_namespace_ = true;
  v.ptr_ = std::make_shared<Dict>(std::move(d));
  return v;
}

const std::string& Value::undefined_hint() const {
  static const std::string kEmpty = "value is undefined";
  return ptr_ ? *static_cast<const std::string*>(ptr_.get()) : kEmpty;
}

bool Value::truthy() const {
  switch (kind_) {
    case Kind::kUndefined:
    case Kind::kNone: return false;
    case Kind::kBool: return b_;
    case Kind::kInt: return i_ != 0;
    case Kind::kFloat: return f_ != 0.0;
    case Kind::kString: return !as_string().empty();
    case Kind::kList:
    case Kind::kTuple: return !as_list().empty();
    case Kind::kDict: return !as_dict().items.empty();
    case Kind::kNamespace:
    case Kind::kCallable: return true;
  }
  return false;
}

std::string_view Value::type_name() const {
  switch (kind_) {
    case Kind::kUndefined: return "Undefined";
    case Kind::kNone: return "NoneType";
    case Kind::kBool: return "bool";
    case Kind::kInt: return "int";
    case Kind::kFloat: return "float";
    case Kind::kString: return "str";
    case Kind::kList: return "list";
    case Kind::kTuple: return "tuple";
    case Kind::kDict: return "dict";
    case Kind::kNamespace: return "Namespace";
    case Kind::kCallable: return "function";
  }
  return "object";
}

void append_float_repr(std::string& out, double f) {
  if (std::isnan(f)) return out.append("nan"), void();
  if (std::isinf(f)) return out.append(f < 0 ? "-inf" : "inf"), void();
  // Shortest round-trip digits in scientific form, then laid out the way Python's repr does:
  // positional for 1e-4 <= |f| < 1e16, else d.ddde+XX.
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof(buf), f, std::chars_format::scientific);
  std::string_view sci(buf, res.ptr - buf);
  bool negative = sci[0] == '-';
  if (negative) sci.remove_prefix(1);
  size_t e = sci.find('e');
  std::string digits;
  for (char c : sci.substr(0, e))
    if (c != '.') digits.push_back(c);
  int exp = std::atoi(std::string(sci.substr(e + 1)).c_str());
  while (digits.size() > 1 && digits.back() == '0') digits.pop_back();
  if (negative) out.push_back('-');
  if (exp >= -4 && exp < 16) {
    if (exp < 0) {
      out.append("0.");
      out.append(static_cast<size_t>(-exp - 1), '0');
      out.append(digits);
    } else if (static_cast<size_t>(exp) + 1 >= digits.size()) {
      out.append(digits);
      out.append(exp + 1 - digits.size(), '0');
      out.append(".0");
    } else {
      out.append(digits, 0, exp + 1);
      out.push_back('.');
      out.append(digits, exp + 1);
    }
    return;
  }
  out.push_back(digits[0]);
  if (digits.size() > 1) {
    out.push_back('.');
    out.append(digits, 1);
  }
  char ebuf[16];
  std::snprintf(ebuf, sizeof(ebuf), "e%c%02d", exp < 0 ? '-' : '+', std::abs(exp));
  out.append(ebuf);
}

void append_repr(std::string& out, const Value& v) {
  switch (v.kind()) {
    case Kind::kString: return py_repr_string(out, v.as_string());
    case Kind::kList:
    case Kind::kTuple: {
      bool tuple = v.kind() == Kind::kTuple;
      out.push_back(tuple ? '(' : '[');
      const List& items = v.as_list();
      for (size_t i = 0; i < items.size(); ++i) {
        if (i) out.append(", ");
        append_repr(out, items[i]);
      }
      if (tuple && items.size() == 1) out.push_back(',');
      out.push_back(tuple ? ')' : ']');
      return;
    }
    case Kind::kDict: {
      out.push_back('{');
      bool first = true;
      for (const auto& [k, item] : v.as_dict().items) {
        if (!first) out.append(", ");
        first = false;
        py_repr_string(out, k);
        out.append(": ");
        append_repr(out, item);
      }
      out.push_back('}');
      return;
    }
    default: return append_str(out, v);
  }
}

void append_str(std::string& out, const Value& v) {
  switch (v.kind()) {
    case Kind::kUndefined: return;
    case Kind::kNone: out.append("None"); return;
    case Kind::kBool: out.append(v.as_bool() ? "True" : "False"); return;
    case Kind::kInt: {
      char buf[24];
      auto res = std::to_chars(buf, buf + sizeof(buf), v.as_int());
      out.append(buf, res.ptr);
      return;
    }
    case Kind::kFloat: return append_float_repr(out, v.as_float());
    case Kind::kString: out.append(v.as_string()); return;
    case Kind::kNamespace: {
      out.append("<Namespace ");
      append_repr(out, Value::dict(v.as_dict()));
      out.push_back('>');
      return;
    }
    case Kind::kCallable: out.append("<function ").append(v.as_callable().name).append(">"); return;
    default: return append_repr(out, v);
  }
}

std::string to_str(const Value& v) {
  if (v.is_string()) return v.as_string();
  std::string out;
  append_str(out, v);
  return out;
}

bool equals(const Value& a, const Value& b) {
  if (a.is_number() && b.is_number()) {
    if (a.is_float() || b.is_float()) return a.as_float() == b.as_float();
    return a.as_int() == b.as_int();
  }
  if (a.is_sequence() && b.is_sequence()) {
    if (a.kind() != b.kind()) return false;  // [1] != (1,) in Python
    const List &x = a.as_list(), &y = b.as_list();
    if (x.size() != y.size()) return false;
    for (size_t i = 0; i < x.size(); ++i)
      if (!equals(x[i], y[i])) return false;
    return true;
  }
  if (a.kind() != b.kind()) return false;
  switch (a.kind()) {
    case Kind::kUndefined:
    case Kind::kNone: return true;
    case Kind::kString: return a.as_string() == b.as_string();
    case Kind::kDict: {
      const Dict &x = a.as_dict(), &y = b.as_dict();
      if (x.items.size() != y.items.size()) return false;
      for (const auto& [k, v] : x.items) {
        const Value* other = y.find(k);
        if (!other || !equals(v, *other)) return false;
      }
      return true;
    }
    default: return a.same_object(b);  // namespaces and callables compare by identity
  }
}

int compare(const Value& a, const Value& b) {
  if (a.is_number() && b.is_number()) {
    if (a.is_float() || b.is_float()) {
      double x = a.as_float(), y = b.as_float();
      return x < y ? -1 : (x > y ? 1 : 0);
    }
    int64_t x = a.as_int(), y = b.as_int();
    return x < y ? -1 : (x > y ? 1 : 0);
  }
  if (a.is_string() && b.is_string()) {
    int c = a.as_string().compare(b.as_string());  // UTF-8 byte order == code point order
    return c < 0 ? -1 : (c > 0 ? 1 : 0);
  }
  if (a.is_sequence() && b.kind() == a.kind()) {
    const List &x = a.as_list(), &y = b.as_list();
    for (size_t i = 0; i < x.size() && i < y.size(); ++i) {
      if (!equals(x[i], y[i])) return compare(x[i], y[i]);
    }
    return x.size() < y.size() ? -1 : (x.size() > y.size() ? 1 : 0);
  }
  if (a.is_undefined()) render_fail(a.undefined_hint());
  if (b.is_undefined()) render_fail(b.undefined_hint());
  render_fail("'<' not supported between instances of '" + std::string(a.type_name()) + "' and '" +
              std::string(b.type_name()) + "'");
}

namespace {

template <typename Json>
Value convert(const Json& j) {
  switch (j.type()) {
    case nlohmann::json::value_t::null: return Value::none();
    case nlohmann::json::value_t::boolean: return Value(j.template get<bool>());
    case nlohmann::json::value_t::number_integer: return Value(j.template get<int64_t>());
    case nlohmann::json::value_t::number_unsigned: {
      uint64_t u = j.template get<uint64_t>();
      if (u > static_cast<uint64_t>(INT64_MAX)) return Value(static_cast<double>(u));
      return Value(static_cast<int64_t>(u));
    }
    case nlohmann::json::value_t::number_float: return Value(j.template get<double>());
    case nlohmann::json::value_t::string: return Value(j.template get_ref<const std::string&>());
    case nlohmann::json::value_t::array: {
      List items;
      items.reserve(j.size());
      for (const auto& item : j) items.push_back(convert(item));
      return Value::list(std::move(items));
    }
    case nlohmann::json::value_t::object: {
      Dict d;
      d.items.reserve(j.size());
      for (auto it = j.begin(); it != j.end(); ++it) d.items.emplace_back(it.key(), convert(it.value()));
      return Value::dict(std::move(d));
    }
    default: return Value::none();  // binary / discarded: not produced by JSON parsing
  }
}

}  // namespace

// Input nested deeper than the limit is bad input, reported like other argument errors.
Value from_json(const nlohmann::ordered_json& j) {
  try {
    return convert(j);
  } catch (const RenderError& e) {
    TLM_FAIL(kInvalidArgument) << "template input: " << e.what();
  }
}

Value from_json(const nlohmann::json& j) {
  try {
    return convert(j);
  } catch (const RenderError& e) {
    TLM_FAIL(kInvalidArgument) << "template input: " << e.what();
  }
}

void append_utf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

size_t utf8_length(std::string_view s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

std::vector<std::string_view> utf8_chars(std::string_view s) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < s.size()) {
    size_t j = i + 1;
    while (j < s.size() && (static_cast<unsigned char>(s[j]) & 0xC0) == 0x80) ++j;
    out.push_back(s.substr(i, j - i));
    i = j;
  }
  return out;
}

}  // namespace turbolm::jinja
