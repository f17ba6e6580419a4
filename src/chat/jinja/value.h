// Runtime values of the Jinja interpreter. They model the Python objects that jinja2 templates see
// (None, bool, int, float, str, list, tuple, dict, namespace, callables) plus jinja2's Undefined, so
// that printing, comparing and testing behave like CPython + jinja2.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace turbolm::jinja {

class Value;
class Interpreter;
using List = std::vector<Value>;

// Insertion-ordered dict with string keys (Python dicts keep insertion order, and tojson must too).
// Linear search: chat dicts hold a handful of keys, where a scan beats hashing.
struct Dict {
  std::vector<std::pair<std::string, Value>> items;
  const Value* find(std::string_view key) const;
  Value* find(std::string_view key);
  void set(std::string key, Value value);
};

struct CallArgs {
  std::vector<Value> positional;
  std::vector<std::pair<std::string, Value>> keyword;
};

// Builtin functions, bound methods and macros all share this shape.
struct Callable {
  std::string name;
  std::function<Value(Interpreter&, CallArgs&)> fn;
};

enum class Kind : uint8_t {
  kUndefined,
  kNone,
  kBool,
  kInt,
  kFloat,
  kString,
  kList,
  kTuple,
  kDict,
  kNamespace,
  kCallable
};

class Value {
 public:
  Value() = default;  // Undefined without a hint
  Value(bool b) : kind_(Kind::kBool) { b_ = b; }
  Value(int i) : Value(static_cast<int64_t>(i)) {}
  Value(int64_t i) : kind_(Kind::kInt) { i_ = i; }
  Value(double f) : kind_(Kind::kFloat) { f_ = f; }
  Value(std::string s) : kind_(Kind::kString), ptr_(std::make_shared<const std::string>(std::move(s))) {}
  Value(const char* s) : Value(std::string(s)) {}
  Value(std::string_view s) : Value(std::string(s)) {}

  static Value none() { return Value(Kind::kNone, nullptr); }
  // hint is the UndefinedError message used when the value is used in a way Undefined refuses.
  static Value undefined(std::string hint) {
    return Value(Kind::kUndefined, std::make_shared<const std::string>(std::move(hint)));
  }
  // Containers record their nesting depth and whether they hold a namespace, so hostile templates
  // cannot build structures deeper than kMaxNesting (printing, comparing and freeing them recurse)
  // or namespace cycles. Both throw RenderError.
  static Value list(List items);
  static Value tuple(List items);
  static Value dict(Dict d);
  static Value ns(Dict d);
  static constexpr int kMaxNesting = 256;
  static Value callable(std::string name, std::function<Value(Interpreter&, CallArgs&)> fn) {
    return Value(Kind::kCallable, std::make_shared<Callable>(Callable{std::move(name), std::move(fn)}));
  }

  Kind kind() const { return kind_; }
  bool is_undefined() const { return kind_ == Kind::kUndefined; }
  bool is_none() const { return kind_ == Kind::kNone; }
  bool is_bool() const { return kind_ == Kind::kBool; }
  bool is_int() const { return kind_ == Kind::kInt; }
  bool is_float() const { return kind_ == Kind::kFloat; }
  bool is_number() const { return kind_ == Kind::kBool || kind_ == Kind::kInt || kind_ == Kind::kFloat; }
  bool is_string() const { return kind_ == Kind::kString; }
  bool is_sequence() const { return kind_ == Kind::kList || kind_ == Kind::kTuple; }
  bool is_dict() const { return kind_ == Kind::kDict; }
  bool is_namespace() const { return kind_ == Kind::kNamespace; }
  bool is_callable() const { return kind_ == Kind::kCallable; }

  bool as_bool() const { return b_; }
  int64_t as_int() const { return kind_ == Kind::kBool ? (b_ ? 1 : 0) : i_; }  // bool is an int in Python
  double as_float() const { return kind_ == Kind::kFloat ? f_ : static_cast<double>(as_int()); }
  const std::string& as_string() const { return *static_cast<const std::string*>(ptr_.get()); }
  const List& as_list() const { return *static_cast<const List*>(ptr_.get()); }
  const Dict& as_dict() const { return *static_cast<const Dict*>(ptr_.get()); }
  // Namespaces only: their Dict is allocated non-const, so dropping const here is sound.
  Dict& mutable_dict() const { return *const_cast<Dict*>(static_cast<const Dict*>(ptr_.get())); }
  const Callable& as_callable() const { return *static_cast<const Callable*>(ptr_.get()); }
  const std::string& undefined_hint() const;

  int depth() const { return depth_; }
  // Python `is` for containers, namespaces and callables: the same shared object.
  bool same_object(const Value& other) const { return ptr_ && ptr_ == other.ptr_; }
  bool holds_namespace() const { return holds_namespace_; }

  bool truthy() const;
  // Python's type name as jinja2 prints it in messages ("dict", "list", "str", ...).
  std::string_view type_name() const;

 private:
  Value(Kind kind, std::shared_ptr<const void> ptr) : kind_(kind), ptr_(std::move(ptr)) {}

  Kind kind_ = Kind::kUndefined;
  bool holds_namespace_ = false;  // this value is, or transitively contains, a namespace
  uint16_t depth_ = 0;            // container nesting depth (0 for scalars)
  union {
    bool b_;
    int64_t i_ = 0;
    double f_;
  };
  std::shared_ptr<const void> ptr_;
};

// str(value) as Python prints it ("True", "None", "[1, 'a']"; Undefined prints as "").
std::string to_str(const Value& v);
void append_str(std::string& out, const Value& v);
// repr(value) as Python prints it (strings quoted).
void append_repr(std::string& out, const Value& v);
// Python's float repr: shortest round-trip digits, "1.0", "1e-05", "1e+16", "inf".
void append_float_repr(std::string& out, double f);

// Python ==.
bool equals(const Value& a, const Value& b);
// Python <, for numbers, strings and sequences; throws for unorderable types.
int compare(const Value& a, const Value& b);

Value from_json(const nlohmann::ordered_json& j);
Value from_json(const nlohmann::json& j);

// Unicode helpers: Python's str works on code points, our strings are UTF-8.
size_t utf8_length(std::string_view s);
std::vector<std::string_view> utf8_chars(std::string_view s);
void append_utf8(std::string& out, uint32_t cp);  // cp < 0x110000

}  // namespace turbolm::jinja
