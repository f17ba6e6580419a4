// Tree-walking evaluator. One Interpreter lives for one render: it owns the variable scopes, the
// output limits and the clock; the parsed tree it walks is shared and never modified.
#pragma once

#include <ctime>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "chat/jinja/ast.h"
#include "chat/jinja/value.h"

namespace turbolm::jinja {

struct Limits {
  size_t max_output_bytes = 16u << 20;      // rendered text and any single string built on the way
  int64_t max_loop_iterations = 1'000'000;  // over the whole render, nested loops included
  int max_call_depth = 64;                  // nested macro calls (recursion)
};

struct RenderOptions {
  Limits limits;
  // strftime_now() reads this instead of the wall clock when set (tests pin the date).
  std::optional<std::tm> fixed_time;
};

// Positional-or-keyword argument lookup, Python style.
const Value* find_arg(const CallArgs& args, size_t position, std::string_view name);
Value arg_or(const CallArgs& args, size_t position, std::string_view name, Value fallback);

struct Scope {
  std::shared_ptr<Scope> parent;
  std::vector<std::pair<std::string, Value>> vars;
  const Value* find(std::string_view name) const;
  void set(std::string_view name, Value value);
};

class Interpreter {
 public:
  Interpreter(const RenderOptions& options, const Dict& context);

  void render(const Body& body, std::string& out);

  Value eval(const Expr& e);
  Value call(const Value& callee, CallArgs& args);
  Value getattr(const Value& obj, std::string_view name);
  Value getitem(const Value& obj, const Value& key);
  // Elements of an iterable as Python iterates them (dict keys, string characters).
  List iterate(const Value& v);

  void count_iterations(int64_t n);
  void check_size(size_t bytes) const;
  // `n` spaces (none for n <= 0) for a width a template gives (indent, center, tojson): past the output limit
  // it fails before allocating, as indent(2049638230412172397) would otherwise ask for exabytes.
  std::string spaces(int64_t n) const;
  const RenderOptions& options() const { return options_; }
  // Position of the node being evaluated when an error was raised.
  Location error_location() const;

 private:
  enum class Flow { kNormal, kBreak, kContinue };

  Flow exec_body(const Body& body, std::string& out);
  Flow exec(const Stmt& s, std::string& out);
  void exec_for(const Stmt& s, std::string& out);
  void exec_set(const Stmt& s);
  Value make_macro(const Stmt& s, const std::shared_ptr<Scope>& scope, std::string name);
  Value invoke_macro(const Stmt& s, const std::shared_ptr<Scope>& def_scope, CallArgs& args, Value caller);
  void assign(const std::vector<std::string>& targets, const Value& value);
  Value lookup(const std::string& name);
  Value eval_binary(const Expr& e);
  Value eval_slice(const Expr& e);
  void eval_args(const Args& a, CallArgs& out);
  Value apply_filter_chain(const std::vector<ExprPtr>& chain, Value input);

  const RenderOptions& options_;
  const Dict& context_;
  std::shared_ptr<Scope> scope_;
  int64_t iterations_ = 0;
  int call_depth_ = 0;
  const Expr* current_ = nullptr;  // for error positions
  const Stmt* current_stmt_ = nullptr;
};

// filters.cc / tests.cc / methods.cc / builtins.cc
Value apply_filter(Interpreter& in, std::string_view name, const Value& input, CallArgs& args);
bool apply_test(Interpreter& in, std::string_view name, const Value& input, CallArgs& args);
bool has_filter(std::string_view name);
bool has_test(std::string_view name);
// Bound method of a str / list / dict, or nullopt when the type has no such method.
std::optional<Value> get_method(const Value& obj, std::string_view name);
// range, namespace, dict, raise_exception, strftime_now, cycler, joiner.
const Value* find_global(std::string_view name);
// json.dumps(x, ensure_ascii=False, indent, separators, sort_keys) as transformers' tojson calls it; `indent`
// (none: one line) is the text of one level.
std::string to_json(const Value& v, const std::optional<std::string>& indent, const Value& separators, bool sort_keys);
// Python's printf-style `format % args`.
std::string percent_format(Interpreter& in, const std::string& format, const Value& args);

}  // namespace turbolm::jinja
