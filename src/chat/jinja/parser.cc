#include "chat/jinja/parser.h"

#include <charconv>
#include <cstdlib>

#include "chat/jinja/lexer.h"
#include "core/error.h"

namespace turbolm::jinja {
namespace {

bool expr_names(const Expr* e, std::string_view name);

bool args_name(const Args& a, std::string_view name) {
  for (const auto& p : a.positional)
    if (expr_names(p.get(), name)) return true;
  for (const auto& [k, v] : a.keyword)
    if (expr_names(v.get(), name)) return true;
  return expr_names(a.star.get(), name) || expr_names(a.star_star.get(), name);
}

// Whether an expression reads the variable `name` anywhere.
bool expr_names(const Expr* e, std::string_view name) {
  if (e == nullptr) return false;
  if (e->kind == ExprKind::kName && e->name == name) return true;
  if (expr_names(e->a.get(), name) || expr_names(e->b.get(), name) || expr_names(e->c.get(), name)) return true;
  for (const auto& x : e->items)
    if (expr_names(x.get(), name)) return true;
  for (const auto& x : e->keys)
    if (expr_names(x.get(), name)) return true;
  return args_name(e->args, name);
}

// Whether a body reads the variable `name` anywhere (nested blocks and macros included).
bool body_names(const Body& body, std::string_view name) {
  for (const auto& st : body) {
    if (expr_names(st->expr.get(), name) || expr_names(st->cond.get(), name)) return true;
    for (const auto& c : st->conds)
      if (expr_names(c.get(), name)) return true;
    for (const auto& p : st->params)
      if (expr_names(p.default_value.get(), name)) return true;
    for (const auto& b : st->bodies)
      if (body_names(b, name)) return true;
    if (body_names(st->body, name) || body_names(st->else_body, name)) return true;
  }
  return false;
}

// jinja2 lets a macro (or call block) take extra positional / keyword arguments only when its body reads
// `varargs` / `kwargs`; otherwise they are a TypeError.
void set_catches(Stmt& s) {
  s.catches_varargs = body_names(s.body, "varargs");
  s.catches_kwargs = body_names(s.body, "kwargs");
}

// Nesting deeper than this (brackets, blocks) is refused, so hostile input cannot overflow the stack.
constexpr int kMaxNesting = 128;

class Parser {
 public:
  explicit Parser(std::vector<Token> tokens) : toks_(std::move(tokens)) {}

  Body parse() {
    Body body = subparse({});
    if (cur().type != TokenType::kEof) fail("unexpected token");
    return body;
  }

 private:
  const Token& cur() const { return toks_[pos_]; }
  const Token& peek(size_t n = 1) const { return toks_[std::min(pos_ + n, toks_.size() - 1)]; }
  Location loc() const { return {cur().line, cur().column}; }
  void advance() {
    if (pos_ + 1 < toks_.size()) ++pos_;
  }

  [[noreturn]] void fail(const std::string& message) const { fail_at({cur().line, cur().column}, message); }
  [[noreturn]] static void fail_at(Location l, const std::string& message) {
    TLM_FAIL(kInvalidArgument) << "template syntax error at " << l.line << ":" << l.column << ": " << message;
  }

  std::string describe(const Token& t) const {
    switch (t.type) {
      case TokenType::kEof: return "end of template";
      case TokenType::kBlockEnd: return "end of statement block";
      case TokenType::kVarEnd: return "end of print statement";
      case TokenType::kText: return "template data";
      default: return "'" + t.value + "'";
    }
  }

  bool is_op(std::string_view op) const { return cur().type == TokenType::kOp && cur().value == op; }
  bool is_name(std::string_view name) const { return cur().type == TokenType::kName && cur().value == name; }
  bool skip_op(std::string_view op) {
    if (!is_op(op)) return false;
    advance();
    return true;
  }
  bool skip_name(std::string_view name) {
    if (!is_name(name)) return false;
    advance();
    return true;
  }
  void expect_op(std::string_view op) {
    if (!skip_op(op)) fail("expected '" + std::string(op) + "', got " + describe(cur()));
  }
  std::string expect_name() {
    if (cur().type != TokenType::kName) fail("expected a name, got " + describe(cur()));
    std::string name = cur().value;
    advance();
    return name;
  }
  void expect_block_end() {
    if (cur().type != TokenType::kBlockEnd) fail("expected end of statement block, got " + describe(cur()));
    advance();
  }

  struct DepthGuard {
    Parser& p;
    explicit DepthGuard(Parser& parser) : p(parser) {
      if (++p.depth_ > kMaxNesting) p.fail("template nesting too deep (limit " + std::to_string(kMaxNesting) + ")");
    }
    ~DepthGuard() { --p.depth_; }
  };

  static ExprPtr make(ExprKind kind, Location l) {
    auto e = std::make_unique<Expr>();
    e->kind = kind;
    e->loc = l;
    return e;
  }
  static StmtPtr make_stmt(StmtKind kind, Location l) {
    auto s = std::make_unique<Stmt>();
    s->kind = kind;
    s->loc = l;
    return s;
  }

  // ---- statements ----

  // Parses until a block tag whose name is in `ends` (left unconsumed, positioned on the name).
  Body subparse(std::initializer_list<std::string_view> ends) {
    DepthGuard guard(*this);
    Body body;
    while (true) {
      const Token& t = cur();
      if (t.type == TokenType::kEof) {
        if (ends.size()) fail("unexpected end of template, expected '" + std::string(*ends.begin()) + "'");
        return body;
      }
      if (t.type == TokenType::kText) {
        auto s = make_stmt(StmtKind::kText, loc());
        s->text = t.value;
        body.push_back(std::move(s));
        advance();
      } else if (t.type == TokenType::kVarBegin) {
        auto s = make_stmt(StmtKind::kOutput, loc());
        advance();
        s->expr = parse_tuple(true);
        if (cur().type != TokenType::kVarEnd) fail("expected end of print statement, got " + describe(cur()));
        advance();
        body.push_back(std::move(s));
      } else if (t.type == TokenType::kBlockBegin) {
        advance();
        if (cur().type == TokenType::kName) {
          for (auto end : ends)
            if (cur().value == end) return body;
        }
        body.push_back(parse_statement());
      } else {
        fail("unexpected " + describe(t));
      }
    }
  }

  // Consumes `{% name %}` where the parser stands on `name` (the block begin is already consumed).
  void end_block(std::string_view name) {
    if (!skip_name(name)) fail("expected '" + std::string(name) + "'");
    expect_block_end();
  }

  StmtPtr parse_statement() {
    if (cur().type != TokenType::kName) fail("tag name expected");
    std::string tag = cur().value;
    Location l = loc();
    advance();
    if (tag == "if") return parse_if(l);
    if (tag == "for") return parse_for(l);
    if (tag == "set") return parse_set(l);
    if (tag == "macro") return parse_macro(l);
    if (tag == "call") return parse_call_block(l);
    if (tag == "filter") return parse_filter_block(l);
    if (tag == "with") return parse_with(l);
    if (tag == "break" || tag == "continue") {
      if (loop_depth_ == 0) fail_at(l, "'" + tag + "' outside of a loop");
      expect_block_end();
      return make_stmt(tag == "break" ? StmtKind::kBreak : StmtKind::kContinue, l);
    }
    if (tag == "generation") {
      expect_block_end();
      auto s = make_stmt(StmtKind::kScope, l);
      s->body = subparse({"endgeneration"});
      end_block("endgeneration");
      return s;
    }
    if (tag == "include" || tag == "import" || tag == "from" || tag == "extends" || tag == "block")
      fail_at(l, "'" + tag + "' is not supported: chat templates have no file access");
    fail_at(l, "Encountered unknown tag '" + tag + "'.");
  }

  StmtPtr parse_if(Location l) {
    auto s = make_stmt(StmtKind::kIf, l);
    while (true) {
      s->conds.push_back(parse_tuple(false));
      expect_block_end();
      s->bodies.push_back(subparse({"elif", "else", "endif"}));
      if (skip_name("elif")) continue;
      if (skip_name("else")) {
        expect_block_end();
        s->else_body = subparse({"endif"});
      }
      end_block("endif");
      return s;
    }
  }

  // Assignment targets: a name, or names separated by commas (optionally parenthesized).
  std::vector<std::string> parse_targets() {
    std::vector<std::string> names;
    bool paren = skip_op("(");
    do {
      names.push_back(expect_name());
    } while (skip_op(","));
    if (paren) expect_op(")");
    return names;
  }

  StmtPtr parse_for(Location l) {
    auto s = make_stmt(StmtKind::kFor, l);
    s->targets = parse_targets();
    if (!skip_name("in")) fail("expected 'in', got " + describe(cur()));
    s->expr = parse_tuple(false);
    if (skip_name("if")) s->cond = parse_expression(true);
    if (is_name("recursive")) fail("recursive for loops are not supported");
    expect_block_end();
    ++loop_depth_;
    s->body = subparse({"endfor", "else"});
    --loop_depth_;
    if (skip_name("else")) {
      expect_block_end();
      int saved = loop_depth_;
      loop_depth_ = 0;  // break/continue in a for-else belong to no loop
      s->else_body = subparse({"endfor"});
      loop_depth_ = saved;
    }
    end_block("endfor");
    return s;
  }

  StmtPtr parse_set(Location l) {
    if (cur().type == TokenType::kName && peek().type == TokenType::kOp && peek().value == ".") {
      auto s = make_stmt(StmtKind::kSet, l);
      s->targets.push_back(expect_name());
      advance();  // .
      s->text = expect_name();
      expect_op("=");
      s->expr = parse_tuple(true);
      expect_block_end();
      return s;
    }
    std::vector<std::string> targets = parse_targets();
    if (skip_op("=")) {
      auto s = make_stmt(StmtKind::kSet, l);
      s->targets = std::move(targets);
      s->expr = parse_tuple(true);
      expect_block_end();
      return s;
    }
    if (targets.size() != 1) fail("expected '='");
    auto s = make_stmt(StmtKind::kSetBlock, l);
    s->targets = std::move(targets);
    s->conds = parse_filter_chain();
    expect_block_end();
    s->body = subparse({"endset"});
    end_block("endset");
    return s;
  }

  std::vector<ExprPtr> parse_filter_chain() {
    std::vector<ExprPtr> chain;
    bool first = true;
    while (first ? (cur().type == TokenType::kName || is_op("|")) : is_op("|")) {
      if (!first || is_op("|")) expect_op("|");
      first = false;
      chain.push_back(parse_filter(nullptr));
    }
    return chain;
  }

  void parse_params(std::vector<Param>& params) {
    expect_op("(");
    while (!is_op(")")) {
      if (!params.empty()) expect_op(",");
      if (is_op(")")) break;
      Param p;
      p.name = expect_name();
      if (skip_op("=")) p.default_value = parse_expression(true);
      params.push_back(std::move(p));
    }
    expect_op(")");
  }

  StmtPtr parse_macro(Location l) {
    auto s = make_stmt(StmtKind::kMacro, l);
    s->text = expect_name();
    parse_params(s->params);
    expect_block_end();
    int saved = loop_depth_;
    loop_depth_ = 0;
    s->body = subparse({"endmacro"});
    loop_depth_ = saved;
    set_catches(*s);
    end_block("endmacro");
    return s;
  }

  StmtPtr parse_call_block(Location l) {
    auto s = make_stmt(StmtKind::kCallBlock, l);
    if (is_op("(")) parse_params(s->params);
    s->expr = parse_expression(true);
    if (s->expr->kind != ExprKind::kCall) fail("expected call");
    expect_block_end();
    int saved = loop_depth_;
    loop_depth_ = 0;
    s->body = subparse({"endcall"});
    loop_depth_ = saved;
    set_catches(*s);
    end_block("endcall");
    return s;
  }

  StmtPtr parse_filter_block(Location l) {
    auto s = make_stmt(StmtKind::kFilterBlock, l);
    s->conds = parse_filter_chain();
    if (s->conds.empty()) fail("expected a filter name");
    expect_block_end();
    s->body = subparse({"endfilter"});
    end_block("endfilter");
    return s;
  }

  StmtPtr parse_with(Location l) {
    auto s = make_stmt(StmtKind::kWith, l);
    while (cur().type != TokenType::kBlockEnd) {
      if (!s->targets.empty()) expect_op(",");
      s->targets.push_back(expect_name());
      expect_op("=");
      s->conds.push_back(parse_expression(true));
    }
    expect_block_end();
    s->body = subparse({"endwith"});
    end_block("endwith");
    return s;
  }

  // ---- expressions (jinja2 precedence, loosest first) ----

  // `a, b` builds a tuple; a lone expression stays itself.
  ExprPtr parse_tuple(bool with_condexpr, bool explicit_parens = false) {
    Location l = loc();
    std::vector<ExprPtr> items;
    bool is_tuple = false;
    while (true) {
      if (!items.empty()) {
        if (!skip_op(",")) break;
        is_tuple = true;
      }
      if (cur().type == TokenType::kVarEnd || cur().type == TokenType::kBlockEnd || is_op(")") ||
          (is_name("in") && !explicit_parens) || (is_name("if") && !explicit_parens && !items.empty()))
        break;
      items.push_back(parse_expression(with_condexpr));
    }
    if (!is_tuple) {
      if (items.empty()) {
        if (!explicit_parens) fail("expected an expression, got " + describe(cur()));
        return make(ExprKind::kTuple, l);
      }
      return std::move(items[0]);
    }
    auto t = make(ExprKind::kTuple, l);
    t->items = std::move(items);
    return t;
  }

  ExprPtr parse_expression(bool with_condexpr) {
    DepthGuard guard(*this);
    return with_condexpr ? parse_condexpr() : parse_or();
  }

  ExprPtr parse_condexpr() {
    ExprPtr expr1 = parse_or();
    while (is_name("if")) {
      Location l = loc();
      advance();
      auto cond = make(ExprKind::kCond, l);
      cond->b = std::move(expr1);
      cond->a = parse_or();
      if (skip_name("else")) cond->c = parse_condexpr();
      expr1 = std::move(cond);
    }
    return expr1;
  }

  ExprPtr binary(std::string op, ExprPtr a, ExprPtr b, Location l) {
    auto e = make(ExprKind::kBinary, l);
    e->name = std::move(op);
    e->a = std::move(a);
    e->b = std::move(b);
    return e;
  }

  ExprPtr parse_or() {
    ExprPtr left = parse_and();
    while (is_name("or")) {
      Location l = loc();
      advance();
      left = binary("or", std::move(left), parse_and(), l);
    }
    return left;
  }

  ExprPtr parse_and() {
    ExprPtr left = parse_not();
    while (is_name("and")) {
      Location l = loc();
      advance();
      left = binary("and", std::move(left), parse_not(), l);
    }
    return left;
  }

  ExprPtr parse_not() {
    if (is_name("not")) {
      DepthGuard guard(*this);
      auto e = make(ExprKind::kUnary, loc());
      advance();
      e->name = "not";
      e->a = parse_not();
      return e;
    }
    return parse_compare();
  }

  // Chained comparisons (a < b < c) become (a < b) and (b < c), evaluating b twice; chat templates
  // do not chain with side effects, so this matches Python's result.
  ExprPtr parse_compare() {
    ExprPtr left = parse_math1();
    ExprPtr result;
    while (true) {
      Location l = loc();
      std::string op;
      if (cur().type == TokenType::kOp && (cur().value == "==" || cur().value == "!=" || cur().value == "<" ||
                                           cur().value == "<=" || cur().value == ">" || cur().value == ">=")) {
        op = cur().value;
        advance();
      } else if (is_name("in")) {
        op = "in";
        advance();
      } else if (is_name("not") && peek().type == TokenType::kName && peek().value == "in") {
        op = "not in";
        advance();
        advance();
      } else {
        break;
      }
      ExprPtr right = parse_math1();
      ExprPtr left_copy = result ? clone(*left) : nullptr;
      ExprPtr cmp = binary(op, result ? std::move(left_copy) : std::move(left), nullptr, l);
      left = clone(*right);
      cmp->b = std::move(right);
      result = result ? binary("and", std::move(result), std::move(cmp), l) : std::move(cmp);
    }
    return result ? std::move(result) : std::move(left);
  }

  // Only used for chained comparisons' shared middle operand.
  static ExprPtr clone(const Expr& e) {
    auto c = std::make_unique<Expr>();
    c->kind = e.kind;
    c->loc = e.loc;
    c->value = e.value;
    c->name = e.name;
    c->negated = e.negated;
    if (e.a) c->a = clone(*e.a);
    if (e.b) c->b = clone(*e.b);
    if (e.c) c->c = clone(*e.c);
    for (const auto& i : e.items) c->items.push_back(i ? clone(*i) : nullptr);
    for (const auto& k : e.keys) c->keys.push_back(clone(*k));
    for (const auto& p : e.args.positional) c->args.positional.push_back(clone(*p));
    for (const auto& [k, v] : e.args.keyword) c->args.keyword.emplace_back(k, clone(*v));
    if (e.args.star) c->args.star = clone(*e.args.star);
    if (e.args.star_star) c->args.star_star = clone(*e.args.star_star);
    return c;
  }

  ExprPtr parse_math1() {
    ExprPtr left = parse_concat();
    while (is_op("+") || is_op("-")) {
      Location l = loc();
      std::string op = cur().value;
      advance();
      left = binary(op, std::move(left), parse_concat(), l);
    }
    return left;
  }

  ExprPtr parse_concat() {
    ExprPtr left = parse_math2();
    while (is_op("~")) {
      Location l = loc();
      advance();
      left = binary("~", std::move(left), parse_math2(), l);
    }
    return left;
  }

  ExprPtr parse_math2() {
    ExprPtr left = parse_pow();
    while (is_op("*") || is_op("/") || is_op("//") || is_op("%")) {
      Location l = loc();
      std::string op = cur().value;
      advance();
      left = binary(op, std::move(left), parse_pow(), l);
    }
    return left;
  }

  ExprPtr parse_pow() {
    ExprPtr left = parse_unary(true);
    while (is_op("**")) {
      Location l = loc();
      advance();
      left = binary("**", std::move(left), parse_unary(true), l);
    }
    return left;
  }

  ExprPtr parse_unary(bool with_filter) {
    DepthGuard guard(*this);
    ExprPtr node;
    if (is_op("-") || is_op("+")) {
      node = make(ExprKind::kUnary, loc());
      node->name = cur().value;
      advance();
      node->a = parse_unary(false);
    } else {
      node = parse_primary();
    }
    node = parse_postfix(std::move(node));
    if (with_filter) node = parse_filter_expr(std::move(node));
    return node;
  }

  ExprPtr parse_primary() {
    const Token& t = cur();
    Location l = loc();
    switch (t.type) {
      case TokenType::kName: {
        auto e = make(ExprKind::kLiteral, l);
        if (t.value == "true" || t.value == "True") {
          e->value = Value(true);
        } else if (t.value == "false" || t.value == "False") {
          e->value = Value(false);
        } else if (t.value == "none" || t.value == "None") {
          e->value = Value::none();
        } else {
          e->kind = ExprKind::kName;
          e->name = t.value;
        }
        advance();
        return e;
      }
      case TokenType::kString: {
        std::string s;
        while (cur().type == TokenType::kString) {  // adjacent literals concatenate
          s += cur().value;
          advance();
        }
        auto e = make(ExprKind::kLiteral, l);
        e->value = Value(std::move(s));
        return e;
      }
      case TokenType::kInt: {
        auto e = make(ExprKind::kLiteral, l);
        int64_t v = 0;
        auto res = std::from_chars(t.value.data(), t.value.data() + t.value.size(), v);
        if (res.ec != std::errc()) fail("integer literal out of range");
        e->value = Value(v);
        advance();
        return e;
      }
      case TokenType::kFloat: {
        auto e = make(ExprKind::kLiteral, l);
        e->value = Value(std::strtod(t.value.c_str(), nullptr));
        advance();
        return e;
      }
      case TokenType::kOp:
        if (t.value == "(") {
          advance();
          ExprPtr e = parse_tuple(true, true);
          expect_op(")");
          return e;
        }
        if (t.value == "[") {
          advance();
          auto e = make(ExprKind::kList, l);
          while (!is_op("]")) {
            if (!e->items.empty()) expect_op(",");
            if (is_op("]")) break;
            e->items.push_back(parse_expression(true));
          }
          expect_op("]");
          return e;
        }
        if (t.value == "{") {
          advance();
          auto e = make(ExprKind::kDict, l);
          while (!is_op("}")) {
            if (!e->items.empty()) expect_op(",");
            if (is_op("}")) break;
            e->keys.push_back(parse_expression(true));
            expect_op(":");
            e->items.push_back(parse_expression(true));
          }
          expect_op("}");
          return e;
        }
        break;
      default: break;
    }
    fail("unexpected " + describe(t));
  }

  ExprPtr parse_postfix(ExprPtr node) {
    while (true) {
      Location l = loc();
      if (is_op(".")) {
        advance();
        auto e = make(ExprKind::kGetAttr, l);
        if (cur().type == TokenType::kName) {
          e->name = cur().value;
        } else if (cur().type == TokenType::kInt) {
          e->kind = ExprKind::kGetItem;  // x.0 is x[0]
          e->b = make(ExprKind::kLiteral, loc());
          e->b->value = Value(static_cast<int64_t>(std::atoll(cur().value.c_str())));
        } else {
          fail("expected name or number after '.'");
        }
        advance();
        e->a = std::move(node);
        node = std::move(e);
      } else if (is_op("[")) {
        advance();
        node = parse_subscript(std::move(node), l);
        expect_op("]");
      } else if (is_op("(")) {
        node = parse_call(std::move(node));
      } else {
        return node;
      }
    }
  }

  ExprPtr parse_subscript(ExprPtr obj, Location l) {
    ExprPtr parts[3];
    int n = 0;
    bool slice = false;
    while (true) {
      if (!is_op(":") && !is_op("]")) parts[n] = parse_expression(true);
      if (n < 2 && skip_op(":")) {
        slice = true;
        ++n;
        continue;
      }
      break;
    }
    if (!slice) {
      if (!parts[0]) fail("expected subscript expression");
      auto e = make(ExprKind::kGetItem, l);
      e->a = std::move(obj);
      e->b = std::move(parts[0]);
      return e;
    }
    auto e = make(ExprKind::kSlice, l);
    e->a = std::move(obj);
    e->b = std::move(parts[0]);
    e->c = std::move(parts[1]);
    e->items.push_back(std::move(parts[2]));
    return e;
  }

  void parse_args(Args& args) {
    expect_op("(");
    bool first = true;
    while (!is_op(")")) {
      if (!first) {
        expect_op(",");
        if (is_op(")")) break;
      }
      first = false;
      if (skip_op("*")) {
        args.star = parse_expression(true);
      } else if (skip_op("**")) {
        args.star_star = parse_expression(true);
      } else if (cur().type == TokenType::kName && peek().type == TokenType::kOp && peek().value == "=") {
        std::string key = cur().value;
        advance();
        advance();
        args.keyword.emplace_back(std::move(key), parse_expression(true));
      } else {
        if (!args.keyword.empty()) fail("positional argument after keyword argument");
        args.positional.push_back(parse_expression(true));
      }
    }
    expect_op(")");
  }

  ExprPtr parse_call(ExprPtr callee) {
    auto e = make(ExprKind::kCall, callee->loc);
    e->a = std::move(callee);
    parse_args(e->args);
    return e;
  }

  ExprPtr parse_filter_expr(ExprPtr node) {
    while (true) {
      if (is_op("|")) {
        advance();
        node = parse_filter(std::move(node));
      } else if (is_name("is")) {
        node = parse_test(std::move(node));
      } else if (is_op("(")) {
        node = parse_call(std::move(node));
      } else {
        return node;
      }
    }
  }

  // Stands on the filter name; `node` may be null for filter blocks.
  ExprPtr parse_filter(ExprPtr node) {
    auto e = make(ExprKind::kFilter, loc());
    e->name = expect_name();
    while (skip_op(".")) e->name += "." + expect_name();
    if (is_op("(")) parse_args(e->args);
    e->a = std::move(node);
    return e;
  }

  ExprPtr parse_test(ExprPtr node) {
    auto e = make(ExprKind::kTest, loc());
    advance();  // is
    if (skip_name("not")) e->negated = true;
    e->name = expect_name();
    while (skip_op(".")) e->name += "." + expect_name();
    if (is_op("(")) {
      parse_args(e->args);
    } else if ((cur().type == TokenType::kName || cur().type == TokenType::kString || cur().type == TokenType::kInt ||
                cur().type == TokenType::kFloat || is_op("[") || is_op("{")) &&
               !is_name("else") && !is_name("or") && !is_name("and")) {
      // `x is divisibleby 3`: one argument without parentheses.
      ExprPtr arg = parse_primary();
      arg = parse_postfix(std::move(arg));
      e->args.positional.push_back(std::move(arg));
    }
    e->a = std::move(node);
    return e;
  }

  std::vector<Token> toks_;
  size_t pos_ = 0;
  int depth_ = 0;
  int loop_depth_ = 0;
};

}  // namespace

Body parse_template(std::string_view source) { return Parser(tokenize(source)).parse(); }

}  // namespace turbolm::jinja
