#include "chat/jinja/interpreter.h"

#include <fmt/format.h>

#include <cmath>

#include "chat/jinja/errors.h"

namespace turbolm::jinja {

const Value* find_arg(const CallArgs& args, size_t position, std::string_view name) {
  if (position < args.positional.size()) return &args.positional[position];
  for (const auto& [k, v] : args.keyword)
    if (k == name) return &v;
  return nullptr;
}

Value arg_or(const CallArgs& args, size_t position, std::string_view name, Value fallback) {
  const Value* v = find_arg(args, position, name);
  return v ? *v : std::move(fallback);
}

const Value* Scope::find(std::string_view name) const {
  for (const Scope* s = this; s; s = s->parent.get()) {
    for (const auto& [k, v] : s->vars)
      if (k == name) return &v;
  }
  return nullptr;
}

void Scope::set(std::string_view name, Value value) {
  for (auto& [k, v] : vars) {
    if (k == name) {
      v = std::move(value);
      return;
    }
  }
  vars.emplace_back(std::string(name), std::move(value));
}

Interpreter::Interpreter(const RenderOptions& options, const Dict& context)
    : options_(options), context_(context), scope_(std::make_shared<Scope>()) {}

Location Interpreter::error_location() const {
  if (current_) return current_->loc;
  if (current_stmt_) return current_stmt_->loc;
  return {};
}

void Interpreter::count_iterations(int64_t n) {
  iterations_ += n;
  if (iterations_ > options_.limits.max_loop_iterations)
    render_fail("loop iteration limit exceeded (" + std::to_string(options_.limits.max_loop_iterations) + ")");
}

void Interpreter::check_size(size_t bytes) const {
  if (bytes > options_.limits.max_output_bytes)
    render_fail("output size limit exceeded (" + std::to_string(options_.limits.max_output_bytes) + " bytes)");
}

std::string Interpreter::spaces(int64_t n) const {
  if (n <= 0) return {};
  check_size(static_cast<uint64_t>(n));
  return std::string(static_cast<size_t>(n), ' ');
}

void Interpreter::render(const Body& body, std::string& out) { exec_body(body, out); }

Interpreter::Flow Interpreter::exec_body(const Body& body, std::string& out) {
  for (const auto& s : body) {
    Flow f = exec(*s, out);
    if (f != Flow::kNormal) return f;
  }
  return Flow::kNormal;
}

namespace {

// Runs `fn` with `scope` as the current scope, restoring the previous one even on error.
template <typename Fn>
auto with_scope(std::shared_ptr<Scope>& current, std::shared_ptr<Scope> scope, Fn fn) {
  std::swap(current, scope);
  struct Restore {
    std::shared_ptr<Scope>& cur;
    std::shared_ptr<Scope>& saved;
    ~Restore() { std::swap(cur, saved); }
  } restore{current, scope};
  return fn();
}

std::shared_ptr<Scope> child_of(const std::shared_ptr<Scope>& parent) {
  auto s = std::make_shared<Scope>();
  s->parent = parent;
  return s;
}

}  // namespace

Interpreter::Flow Interpreter::exec(const Stmt& s, std::string& out) {
  current_stmt_ = &s;
  current_ = nullptr;
  switch (s.kind) {
    case StmtKind::kText:
      out += s.text;
      check_size(out.size());
      return Flow::kNormal;
    case StmtKind::kOutput: {
      Value v = eval(*s.expr);
      append_str(out, v);
      check_size(out.size());
      return Flow::kNormal;
    }
    case StmtKind::kIf:
      for (size_t i = 0; i < s.conds.size(); ++i) {
        if (eval(*s.conds[i]).truthy()) return exec_body(s.bodies[i], out);
      }
      return exec_body(s.else_body, out);
    case StmtKind::kFor: exec_for(s, out); return Flow::kNormal;
    case StmtKind::kSet: exec_set(s); return Flow::kNormal;
    case StmtKind::kSetBlock: {
      std::string captured;
      Flow f = exec_body(s.body, captured);
      assign(s.targets, apply_filter_chain(s.conds, Value(std::move(captured))));
      return f;
    }
    case StmtKind::kMacro: scope_->set(s.text, make_macro(s, scope_, s.text)); return Flow::kNormal;
    case StmtKind::kCallBlock: {
      const Expr& call_expr = *s.expr;
      Value callee = eval(*call_expr.a);
      CallArgs args;
      eval_args(call_expr.args, args);
      args.keyword.emplace_back("caller", make_macro(s, scope_, "caller"));
      current_ = &call_expr;
      Value result = call(callee, args);
      append_str(out, result);
      check_size(out.size());
      return Flow::kNormal;
    }
    case StmtKind::kFilterBlock: {
      std::string captured;
      Flow f = with_scope(scope_, child_of(scope_), [&] { return exec_body(s.body, captured); });
      append_str(out, apply_filter_chain(s.conds, Value(std::move(captured))));
      check_size(out.size());
      return f;
    }
    case StmtKind::kWith: {
      auto scope = child_of(scope_);
      for (size_t i = 0; i < s.targets.size(); ++i) scope->set(s.targets[i], eval(*s.conds[i]));
      return with_scope(scope_, scope, [&] { return exec_body(s.body, out); });
    }
    case StmtKind::kBreak: return Flow::kBreak;
    case StmtKind::kContinue: return Flow::kContinue;
    case StmtKind::kScope: return exec_body(s.body, out);
  }
  return Flow::kNormal;
}

Value Interpreter::apply_filter_chain(const std::vector<ExprPtr>& chain, Value input) {
  for (const auto& f : chain) {
    CallArgs args;
    eval_args(f->args, args);
    current_ = f.get();
    input = apply_filter(*this, f->name, input, args);
  }
  return input;
}

void Interpreter::assign(const std::vector<std::string>& targets, const Value& value) {
  if (targets.size() == 1) {
    scope_->set(targets[0], value);
    return;
  }
  List items = iterate(value);
  if (items.size() != targets.size()) {
    render_fail(items.size() < targets.size()
                    ? "not enough values to unpack (expected " + std::to_string(targets.size()) + ", got " +
                          std::to_string(items.size()) + ")"
                    : "too many values to unpack (expected " + std::to_string(targets.size()) + ")");
  }
  for (size_t i = 0; i < targets.size(); ++i) scope_->set(targets[i], items[i]);
}

void Interpreter::exec_set(const Stmt& s) {
  Value v = eval(*s.expr);
  if (s.text.empty()) return assign(s.targets, v);
  Value target = lookup(s.targets[0]);
  if (!target.is_namespace()) render_fail("can only set attributes on namespace objects");
  if (!s.text.empty() && s.text[0] == '_')
    render_fail("Chat templates cannot store underscore-prefixed attributes on a namespace, but got '" + s.text +
                "'. Please rename the attribute.");
  if (v.holds_namespace()) render_fail("a namespace cannot hold another namespace");
  // The namespace's recorded depth is fixed, so its attributes must leave room under the global limit.
  if (v.depth() >= Value::kMaxNesting - 1)
    render_fail("data nested deeper than " + std::to_string(Value::kMaxNesting) + " levels");
  target.mutable_dict().set(s.text, std::move(v));
}

void Interpreter::exec_for(const Stmt& s, std::string& out) {
  List items = iterate(eval(*s.expr));
  if (s.cond) {
    // `for x in xs if cond`: filtered before the loop, so loop.length and loop.last see the filtered list.
    List kept;
    for (auto& item : items) {
      count_iterations(1);
      bool keep = with_scope(scope_, child_of(scope_), [&] {
        assign(s.targets, item);
        return eval(*s.cond).truthy();
      });
      if (keep) kept.push_back(std::move(item));
    }
    items = std::move(kept);
  }
  if (items.empty()) {
    exec_body(s.else_body, out);
    return;
  }
  const int64_t n = static_cast<int64_t>(items.size());
  // loop.cycle reads the current index through this shared cell.
  auto index_cell = std::make_shared<int64_t>(0);
  Value cycle = Value::callable("cycle", [index_cell](Interpreter&, CallArgs& args) -> Value {
    if (args.positional.empty()) render_fail("no items for cycling given");
    return args.positional[*index_cell % args.positional.size()];
  });
  // loop.depth counts recursive-loop levels only; a plain nested loop is at depth 1, as in jinja2.
  const int64_t depth = 1;
  for (int64_t i = 0; i < n; ++i) {
    count_iterations(1);
    *index_cell = i;
    Dict loop;
    loop.items.reserve(12);
    loop.items.emplace_back("index", Value(i + 1));
    loop.items.emplace_back("index0", Value(i));
    loop.items.emplace_back("revindex", Value(n - i));
    loop.items.emplace_back("revindex0", Value(n - i - 1));
    loop.items.emplace_back("first", Value(i == 0));
    loop.items.emplace_back("last", Value(i == n - 1));
    loop.items.emplace_back("length", Value(n));
    loop.items.emplace_back("depth", Value(depth));
    loop.items.emplace_back("depth0", Value(depth - 1));
    loop.items.emplace_back("previtem", i > 0 ? items[i - 1] : Value::undefined("there is no previous item"));
    loop.items.emplace_back("nextitem", i + 1 < n ? items[i + 1] : Value::undefined("there is no next item"));
    loop.items.emplace_back("cycle", cycle);
    // Each iteration gets a fresh scope: jinja2 does not carry `set` values from one iteration to the next.
    auto scope = child_of(scope_);
    scope->vars.reserve(4);
    scope->vars.emplace_back("loop", Value::dict(std::move(loop)));
    Flow f = with_scope(scope_, scope, [&] {
      assign(s.targets, items[i]);
      return exec_body(s.body, out);
    });
    if (f == Flow::kBreak) break;
  }
}

Value Interpreter::make_macro(const Stmt& s, const std::shared_ptr<Scope>& scope, std::string name) {
  // A weak reference: the macro usually lives in the scope it captures, and a strong one would leak the cycle.
  std::weak_ptr<Scope> weak = scope;
  const Stmt* stmt = &s;
  return Value::callable(std::move(name), [stmt, weak](Interpreter& in, CallArgs& args) -> Value {
    auto def_scope = weak.lock();
    if (!def_scope) render_fail("macro '" + stmt->text + "' called after its scope ended");
    Value caller;
    for (auto it = args.keyword.begin(); it != args.keyword.end(); ++it) {
      if (it->first == "caller") {
        caller = it->second;
        args.keyword.erase(it);
        break;
      }
    }
    return in.invoke_macro(*stmt, def_scope, args, std::move(caller));
  });
}

Value Interpreter::invoke_macro(const Stmt& s, const std::shared_ptr<Scope>& def_scope, CallArgs& args, Value caller) {
  const std::string macro = s.kind == StmtKind::kMacro ? "macro '" + s.text + "'" : "the call block";
  if (!s.catches_varargs && args.positional.size() > s.params.size())
    render_fail(macro + " takes not more than " + std::to_string(s.params.size()) + " argument(s)");
  // As jinja2 binds them: positional arguments first; a keyword binds a parameter they left open, anything else
  // goes to kwargs (an error when the body does not read it).
  auto binds_param = [&](const std::string& k) {
    for (size_t i = args.positional.size(); i < s.params.size(); ++i)
      if (s.params[i].name == k) return true;
    return false;
  };
  for (const auto& [k, v] : args.keyword)
    if (!binds_param(k) && !s.catches_kwargs) render_fail(macro + " takes no keyword argument '" + k + "'");
  if (call_depth_ >= options_.limits.max_call_depth)
    render_fail("maximum macro call depth exceeded (" + std::to_string(options_.limits.max_call_depth) + ")");
  ++call_depth_;
  struct Depth {
    int& d;
    ~Depth() { --d; }
  } depth{call_depth_};
  auto scope = child_of(def_scope);
  std::string out;
  const Stmt* saved_stmt = current_stmt_;
  with_scope(scope_, scope, [&] {
    List varargs;
    for (size_t i = 0; i < args.positional.size(); ++i) {
      if (i < s.params.size()) {
        scope->set(s.params[i].name, args.positional[i]);
      } else {
        varargs.push_back(args.positional[i]);
      }
    }
    Dict kwargs;
    for (auto& [k, v] : args.keyword) {
      if (binds_param(k)) {
        scope->set(k, v);
      } else {
        kwargs.set(k, v);
      }
    }
    for (size_t i = 0; i < s.params.size(); ++i) {
      const Param& p = s.params[i];
      bool bound = i < args.positional.size();
      for (const auto& kv : args.keyword) bound = bound || kv.first == p.name;
      if (bound) continue;
      scope->set(p.name, p.default_value ? eval(*p.default_value)
                                         : Value::undefined("parameter '" + p.name + "' was not provided"));
    }
    scope->set("varargs", Value::tuple(std::move(varargs)));
    scope->set("kwargs", Value::dict(std::move(kwargs)));
    if (!caller.is_undefined()) scope->set("caller", caller);
    exec_body(s.body, out);
    return 0;
  });
  current_stmt_ = saved_stmt;
  return Value(std::move(out));
}

Value Interpreter::lookup(const std::string& name) {
  if (const Value* v = scope_->find(name)) return *v;
  if (const Value* v = context_.find(name)) return *v;
  if (const Value* v = find_global(name)) return *v;
  return Value::undefined(fmt::format("'{}' is undefined", name));
}

void Interpreter::eval_args(const Args& a, CallArgs& out) {
  out.positional.reserve(a.positional.size());
  for (const auto& p : a.positional) out.positional.push_back(eval(*p));
  if (a.star) {
    for (auto& v : iterate(eval(*a.star))) out.positional.push_back(std::move(v));
  }
  for (const auto& [k, v] : a.keyword) out.keyword.emplace_back(k, eval(*v));
  if (a.star_star) {
    Value d = eval(*a.star_star);
    if (!d.is_dict()) render_fail("argument after ** must be a mapping");
    for (const auto& [k, v] : d.as_dict().items) out.keyword.emplace_back(k, v);
  }
}

Value Interpreter::call(const Value& callee, CallArgs& args) {
  if (callee.is_callable()) return callee.as_callable().fn(*this, args);
  if (callee.is_undefined()) render_fail(callee.undefined_hint());
  render_fail(fmt::format("'{}' object is not callable", callee.type_name()));
}

List Interpreter::iterate(const Value& v) {
  switch (v.kind()) {
    case Kind::kList:
    case Kind::kTuple: return v.as_list();
    case Kind::kDict: {
      List keys;
      keys.reserve(v.as_dict().items.size());
      for (const auto& [k, item] : v.as_dict().items) keys.emplace_back(k);
      return keys;
    }
    case Kind::kString: {
      List chars;
      for (auto c : utf8_chars(v.as_string())) chars.emplace_back(c);
      return chars;
    }
    case Kind::kUndefined: return {};
    default: render_fail(fmt::format("'{}' object is not iterable", v.type_name()));
  }
}

Value Interpreter::getattr(const Value& obj, std::string_view name) {
  switch (obj.kind()) {
    case Kind::kUndefined: render_fail(obj.undefined_hint());
    case Kind::kDict: {
      // Python attribute first: `d.items` is the method even when the dict has an "items" key.
      if (auto m = get_method(obj, name)) return *m;
      if (const Value* v = obj.as_dict().find(name)) return *v;
      break;
    }
    case Kind::kNamespace:
      if (const Value* v = obj.as_dict().find(name)) return *v;
      break;
    default:
      if (auto m = get_method(obj, name)) return *m;
  }
  std::string owner = obj.is_none() ? "None" : fmt::format("'{} object'", obj.type_name());
  return Value::undefined(owner + " has no attribute '" + std::string(name) + "'");
}

Value Interpreter::getitem(const Value& obj, const Value& key) {
  switch (obj.kind()) {
    case Kind::kUndefined: render_fail(obj.undefined_hint());
    case Kind::kDict:
      if (key.is_string()) {
        if (const Value* v = obj.as_dict().find(key.as_string())) return *v;
        if (auto m = get_method(obj, key.as_string())) return *m;
      }
      break;
    case Kind::kList:
    case Kind::kTuple:
    case Kind::kString:
      if (key.is_int() || key.is_bool()) {
        int64_t i = key.as_int();
        if (obj.is_string()) {
          auto chars = utf8_chars(obj.as_string());
          int64_t n = static_cast<int64_t>(chars.size());
          if (i < 0) i += n;
          if (i >= 0 && i < n) return Value(chars[i]);
        } else {
          const List& items = obj.as_list();
          int64_t n = static_cast<int64_t>(items.size());
          if (i < 0) i += n;
          if (i >= 0 && i < n) return items[i];
        }
      } else if (key.is_string()) {
        return getattr(obj, key.as_string());
      }
      break;
    case Kind::kNamespace:
      if (key.is_string()) return getattr(obj, key.as_string());
      break;
    default: break;
  }
  std::string owner = obj.is_none() ? "None" : fmt::format("'{} object'", obj.type_name());
  std::string k;
  if (key.is_string()) {
    k = fmt::format("'{}'", key.as_string());
  } else {
    append_str(k, key);
  }
  return Value::undefined(owner + " has no attribute " + k);
}

Value Interpreter::eval(const Expr& e) {
  current_ = &e;
  switch (e.kind) {
    case ExprKind::kLiteral: return e.value;
    case ExprKind::kName: return lookup(e.name);
    case ExprKind::kList:
    case ExprKind::kTuple: {
      List items;
      items.reserve(e.items.size());
      for (const auto& i : e.items) items.push_back(eval(*i));
      return e.kind == ExprKind::kList ? Value::list(std::move(items)) : Value::tuple(std::move(items));
    }
    case ExprKind::kDict: {
      Dict d;
      for (size_t i = 0; i < e.keys.size(); ++i) {
        Value k = eval(*e.keys[i]);
        if (!k.is_string()) render_fail("only string keys are supported in dict literals");
        d.set(k.as_string(), eval(*e.items[i]));
      }
      return Value::dict(std::move(d));
    }
    case ExprKind::kGetAttr: {
      Value obj = eval(*e.a);
      current_ = &e;
      return getattr(obj, e.name);
    }
    case ExprKind::kGetItem: {
      Value obj = eval(*e.a);
      Value key = eval(*e.b);
      current_ = &e;
      return getitem(obj, key);
    }
    case ExprKind::kSlice: return eval_slice(e);
    case ExprKind::kCall: {
      Value callee = eval(*e.a);
      CallArgs args;
      eval_args(e.args, args);
      current_ = &e;
      return call(callee, args);
    }
    case ExprKind::kFilter: {
      Value input = eval(*e.a);
      CallArgs args;
      eval_args(e.args, args);
      current_ = &e;
      return apply_filter(*this, e.name, input, args);
    }
    case ExprKind::kTest: {
      Value input = eval(*e.a);
      CallArgs args;
      eval_args(e.args, args);
      current_ = &e;
      return Value(apply_test(*this, e.name, input, args) != e.negated);
    }
    case ExprKind::kUnary: {
      Value v = eval(*e.a);
      current_ = &e;
      if (e.name == "not") return Value(!v.truthy());
      if (v.is_undefined()) render_fail(v.undefined_hint());
      if (!v.is_number())
        render_fail("bad operand type for unary " + e.name + ": '" + std::string(v.type_name()) + "'");
      if (e.name == "+") return v.is_float() ? v : Value(v.as_int());
      if (v.is_float()) return Value(-v.as_float());
      if (v.as_int() == INT64_MIN) render_fail("integer overflow");
      return Value(-v.as_int());
    }
    case ExprKind::kBinary: return eval_binary(e);
    case ExprKind::kCond: {
      if (eval(*e.a).truthy()) return eval(*e.b);
      if (e.c) return eval(*e.c);
      return Value::undefined("the inline if-expression on line " + std::to_string(e.loc.line) +
                              " evaluated to false and no else section was defined.");
    }
  }
  return Value();
}

Value Interpreter::eval_slice(const Expr& e) {
  Value obj = eval(*e.a);
  auto opt = [&](const ExprPtr& p) -> std::optional<int64_t> {
    if (!p) return std::nullopt;
    Value v = eval(*p);
    if (v.is_none()) return std::nullopt;
    if (!v.is_int() && !v.is_bool()) render_fail("slice indices must be integers or None");
    return v.as_int();
  };
  std::optional<int64_t> start = opt(e.b), stop = opt(e.c), step_opt = opt(e.items[0]);
  current_ = &e;
  int64_t step = step_opt.value_or(1);
  if (step == 0) render_fail("slice step cannot be zero");
  if (obj.is_undefined()) render_fail(obj.undefined_hint());
  std::vector<std::string_view> chars;
  int64_t n;
  if (obj.is_string()) {
    chars = utf8_chars(obj.as_string());
    n = static_cast<int64_t>(chars.size());
  } else if (obj.is_sequence()) {
    n = static_cast<int64_t>(obj.as_list().size());
  } else {
    render_fail(fmt::format("'{}' object is not subscriptable", obj.type_name()));
  }
  // Python's slice.indices().
  auto clamp = [&](std::optional<int64_t> v, int64_t def) {
    if (!v) return def;
    int64_t x = *v;
    if (x < 0) x += n;
    if (step > 0) return std::clamp<int64_t>(x, 0, n);
    return std::clamp<int64_t>(x, -1, n - 1);
  };
  int64_t lo = clamp(start, step > 0 ? 0 : n - 1);
  int64_t hi = clamp(stop, step > 0 ? n : -1);
  std::vector<int64_t> idx;
  for (int64_t i = lo; step > 0 ? i < hi : i > hi; i += step) idx.push_back(i);
  if (obj.is_string()) {
    std::string out;
    for (int64_t i : idx) out.append(chars[i]);
    return Value(std::move(out));
  }
  List out;
  out.reserve(idx.size());
  for (int64_t i : idx) out.push_back(obj.as_list()[i]);
  return obj.kind() == Kind::kTuple ? Value::tuple(std::move(out)) : Value::list(std::move(out));
}

}  // namespace turbolm::jinja
