// Binary operators with Python semantics (int/float promotion, floor division and modulo signs,
// sequence concatenation and repetition, `in`, short-circuit and/or returning an operand).
#include <cmath>

#include "chat/jinja/errors.h"
#include "chat/jinja/interpreter.h"

namespace turbolm::jinja {
namespace {

[[noreturn]] void type_error(const std::string& op, const Value& a, const Value& b) {
  if (a.is_undefined()) render_fail(a.undefined_hint());
  if (b.is_undefined()) render_fail(b.undefined_hint());
  if (op == "+" && a.is_string())
    render_fail("can only concatenate str (not \"" + std::string(b.type_name()) + "\") to str");
  render_fail("unsupported operand type(s) for " + op + ": '" + std::string(a.type_name()) + "' and '" +
              std::string(b.type_name()) + "'");
}

// Python ints do not overflow; ours are 64-bit, so overflow is reported instead of wrapping.
int64_t checked_op(char op, int64_t x, int64_t y) {
  int64_t r = 0;
  bool overflow = op == '+'   ? __builtin_add_overflow(x, y, &r)
                  : op == '-' ? __builtin_sub_overflow(x, y, &r)
                              : __builtin_mul_overflow(x, y, &r);
  if (overflow) render_fail("integer overflow");
  return r;
}

Value repeat(Interpreter& in, const Value& seq, int64_t times) {
  // Nothing to repeat (also an empty operand: the size and iteration checks below would pass it a huge count).
  const bool empty = seq.is_string() ? seq.as_string().empty() : seq.as_list().empty();
  if (times <= 0 || empty)
    return seq.is_string() ? Value("") : seq.kind() == Kind::kList ? Value::list({}) : Value::tuple({});
  if (seq.is_string()) {
    in.check_size(seq.as_string().size() * static_cast<size_t>(std::min<int64_t>(times, INT32_MAX)));
    std::string out;
    out.reserve(seq.as_string().size() * times);
    for (int64_t i = 0; i < times; ++i) out += seq.as_string();
    return Value(std::move(out));
  }
  const List& items = seq.as_list();
  in.count_iterations(static_cast<int64_t>(items.size()) * std::min<int64_t>(times, INT32_MAX));
  List out;
  for (int64_t i = 0; i < times; ++i) out.insert(out.end(), items.begin(), items.end());
  return seq.kind() == Kind::kTuple ? Value::tuple(std::move(out)) : Value::list(std::move(out));
}

bool contains(const Value& item, const Value& container) {
  switch (container.kind()) {
    case Kind::kString:
      if (!item.is_string())
        render_fail("'in <string>' requires string as left operand, not " + std::string(item.type_name()));
      return container.as_string().find(item.as_string()) != std::string::npos;
    case Kind::kList:
    case Kind::kTuple:
      for (const auto& v : container.as_list())
        if (equals(v, item)) return true;
      return false;
    case Kind::kDict: return item.is_string() && container.as_dict().find(item.as_string()) != nullptr;
    case Kind::kUndefined: return false;  // Undefined iterates as empty
    default: render_fail("argument of type '" + std::string(container.type_name()) + "' is not iterable");
  }
}

}  // namespace

Value Interpreter::eval_binary(const Expr& e) {
  const std::string& op = e.name;
  if (op == "and") {
    Value a = eval(*e.a);
    return a.truthy() ? eval(*e.b) : a;
  }
  if (op == "or") {
    Value a = eval(*e.a);
    return a.truthy() ? a : eval(*e.b);
  }
  Value a = eval(*e.a);
  Value b = eval(*e.b);
  current_ = &e;
  switch (op[0]) {
    case '=': return Value(equals(a, b));
    case '!': return Value(!equals(a, b));
    case '<':
      if (a.is_undefined() || b.is_undefined()) type_error(op, a, b);
      return Value(op.size() == 1 ? compare(a, b) < 0 : compare(a, b) <= 0);
    case '>':
      if (a.is_undefined() || b.is_undefined()) type_error(op, a, b);
      return Value(op.size() == 1 ? compare(a, b) > 0 : compare(a, b) >= 0);
    case 'i': return Value(contains(a, b));
    case 'n': return Value(!contains(a, b));
    case '~': {
      std::string s = to_str(a);
      append_str(s, b);
      check_size(s.size());
      return Value(std::move(s));
    }
    default: break;
  }
  if (op == "+") {
    if (a.is_string() && b.is_string()) {
      check_size(a.as_string().size() + b.as_string().size());
      return Value(a.as_string() + b.as_string());
    }
    if (a.is_sequence() && b.kind() == a.kind()) {
      // Copying counts as loop work, so doubling a list in a loop stays within the iteration limit.
      count_iterations(static_cast<int64_t>(a.as_list().size() + b.as_list().size()));
      List out = a.as_list();
      out.insert(out.end(), b.as_list().begin(), b.as_list().end());
      return a.kind() == Kind::kTuple ? Value::tuple(std::move(out)) : Value::list(std::move(out));
    }
  }
  if (op == "*") {
    if ((a.is_string() || a.is_sequence()) && (b.is_int() || b.is_bool())) return repeat(*this, a, b.as_int());
    if ((b.is_string() || b.is_sequence()) && (a.is_int() || a.is_bool())) return repeat(*this, b, a.as_int());
  }
  if (op == "%" && a.is_string()) return Value(percent_format(*this, a.as_string(), b));
  if (!a.is_number() || !b.is_number()) type_error(op, a, b);
  bool floats = a.is_float() || b.is_float();
  if (op == "/") {
    if (b.as_float() == 0.0) render_fail("division by zero");
    return Value(a.as_float() / b.as_float());
  }
  if (op == "**") {
    if (floats || b.as_int() < 0) return Value(std::pow(a.as_float(), b.as_float()));
    // Square-and-multiply: at most 64 steps, and any overflow is an error rather than a wrong number.
    int64_t base = a.as_int(), exp = b.as_int(), result = 1;
    while (exp > 0) {
      if (exp & 1) result = checked_op('*', result, base);
      exp >>= 1;
      if (exp > 0) base = checked_op('*', base, base);
    }
    return Value(result);
  }
  if (floats) {
    double x = a.as_float(), y = b.as_float();
    if (op == "+") return Value(x + y);
    if (op == "-") return Value(x - y);
    if (op == "*") return Value(x * y);
    if (y == 0.0) render_fail(op == "%" ? "float modulo" : "float floor division by zero");
    if (op == "//") return Value(std::floor(x / y));
    double m = std::fmod(x, y);
    if (m != 0.0 && ((m < 0) != (y < 0))) m += y;  // result takes the divisor's sign, as in Python
    return Value(m);
  }
  int64_t x = a.as_int(), y = b.as_int();
  if (op == "+" || op == "-" || op == "*") return Value(checked_op(op[0], x, y));
  if (y == 0) render_fail(op == "%" ? "integer modulo by zero" : "integer division or modulo by zero");
  if (x == INT64_MIN && y == -1) render_fail("integer overflow");
  int64_t q = x / y, m = x % y;
  if (m != 0 && ((m < 0) != (y < 0))) {
    --q;
    m += y;
  }
  return Value(op == "//" ? q : m);
}

}  // namespace turbolm::jinja
