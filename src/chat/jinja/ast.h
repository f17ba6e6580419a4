// Syntax tree of a parsed template. Nodes are immutable after parsing, so one tree serves
// concurrent renders.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "chat/jinja/value.h"

namespace turbolm::jinja {

struct Expr;
struct Stmt;
using ExprPtr = std::unique_ptr<Expr>;
using StmtPtr = std::unique_ptr<Stmt>;
using Body = std::vector<StmtPtr>;

struct Location {
  int line = 0;
  int column = 0;
};

struct Args {
  std::vector<ExprPtr> positional;
  std::vector<std::pair<std::string, ExprPtr>> keyword;
  ExprPtr star;       // *args
  ExprPtr star_star;  // **kwargs
};

enum class ExprKind {
  kLiteral,  // value
  kName,     // name
  kList,     // items
  kTuple,    // items
  kDict,     // keys / items
  kGetAttr,  // a.name
  kGetItem,  // a[b]
  kSlice,    // a[b:c:d] (items: start, stop, step; null = omitted)
  kCall,     // a(args)
  kFilter,   // a|name(args)
  kTest,     // a is [not] name(args)
  kUnary,    // op a   ("-", "+", "not")
  kBinary,   // a op b (arithmetic, "~", "and", "or", "in", "not in", comparisons)
  kCond,     // b if a else c
};

struct Expr {
  ExprKind kind;
  Location loc;
  Value value;       // kLiteral
  std::string name;  // kName / kGetAttr / kFilter / kTest / kUnary and kBinary operator
  ExprPtr a, b, c;   // operands (kSlice: a = object, b/c/items[0] = start/stop/step)
  std::vector<ExprPtr> items;
  std::vector<ExprPtr> keys;  // kDict
  Args args;                  // kCall / kFilter / kTest
  bool negated = false;       // kTest: `is not`
};

enum class StmtKind {
  kText,         // text
  kOutput,       // {{ expr }}
  kIf,           // conds[i] -> bodies[i]; else_body
  kFor,          // targets in expr [if cond]: body; else_body
  kSet,          // targets = expr, or target.attr = expr (attr non-empty)
  kSetBlock,     // {% set target | filters %}body{% endset %}
  kMacro,        // name(params = defaults): body
  kCallBlock,    // {% call(params) expr %}body{% endcall %}
  kFilterBlock,  // {% filter f|g %}body{% endfilter %}
  kWith,         // {% with a = 1 %}body{% endwith %}
  kBreak,
  kContinue,
  kScope,  // a body rendered as is ({% generation %} from transformers' AssistantTracker)
};

struct Param {
  std::string name;
  ExprPtr default_value;  // null: required
};

struct Stmt {
  StmtKind kind;
  Location loc;
  std::string text;                  // kText; kMacro name; kSet attr
  ExprPtr expr;                      // kOutput / kFor iterable / kSet value / kCallBlock call
  ExprPtr cond;                      // kFor filter
  std::vector<std::string> targets;  // kFor / kSet / kSetBlock / kWith names
  std::vector<ExprPtr> conds;        // kIf; kWith values; kSetBlock / kFilterBlock: filters (kFilter on null)
  std::vector<Body> bodies;          // kIf
  Body body;
  Body else_body;
  std::vector<Param> params;                             // kMacro / kCallBlock
  bool catches_varargs = false, catches_kwargs = false;  // kMacro / kCallBlock: the body reads varargs / kwargs
};

}  // namespace turbolm::jinja
