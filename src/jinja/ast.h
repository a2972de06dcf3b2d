// The syntax tree of a parsed template. Expressions and statements are two
// tagged structs rather than class hierarchies: the interpreter switches on
// `kind`, and the meaning of each child slot is written beside its kind.
// Owned by Template (parent nodes own their children); immutable after
// parsing, so one tree can be rendered from many threads.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "jinja/value.h"

namespace kvs::jinja {

// Deeper nesting of blocks or expressions is a parse error (the parser and
// the interpreter recurse).
inline constexpr int kMaxParseDepth = 200;

enum class ExprKind {
  kLiteral,   // value
  kName,      // name
  kGetAttr,   // args[0].name
  kGetItem,   // args[0][args[1]]
  kSlice,     // args[0][args[1]:args[2]:args[3]] (null slots are omitted bounds)
  kCall,      // args[0](args[1..], kwargs)
  kFilter,    // args[0] | name(args[1..], kwargs)
  kTest,      // args[0] is [not] name(args[1..]); negated
  kUnary,     // name in {"not", "-", "+"} applied to args[0]
  kBinary,    // args[0] name args[1]; name is the operator ("and", "in", "not in", "~", ...)
  kCond,      // args[1] if args[0] else args[2] (args[2] null: undefined)
  kList,      // [args...]
  kTuple,     // (args...) — a list at run time
  kDict,      // {args[0]: args[1], args[2]: args[3], ...}
};

struct Expr {
  ExprKind kind;
  int line = 0;
  std::string name;
  Value value;
  bool negated = false;
  std::vector<std::unique_ptr<Expr>> args;
  std::vector<std::pair<std::string, std::unique_ptr<Expr>>> kwargs;
};

enum class NodeKind {
  kData,        // text
  kOutput,      // {{ expr }}
  kIf,          // if expr: body else else_body (elif: an kIf alone in else_body)
  kFor,         // for targets in expr [if cond]: body else else_body
  kSet,         // set targets = expr; or set targets[0].attr = expr (attr non-empty)
  kSetBlock,    // set targets[0] %}body{% endset
  kMacro,       // macro name(targets with defaults): body
  kBreak,
  kContinue,
  kGeneration,  // Hugging Face's {% generation %}: renders body as is
};

struct Node {
  NodeKind kind;
  int line = 0;
  std::string text;  // kData: the text; kMacro: the name
  std::string attr;  // kSet on a namespace attribute
  std::unique_ptr<Expr> expr;
  std::unique_ptr<Expr> cond;  // kFor's filter
  std::vector<std::string> targets;
  std::vector<std::unique_ptr<Expr>> defaults;  // kMacro: per target, null when none
  std::vector<std::unique_ptr<Node>> body;
  std::vector<std::unique_ptr<Node>> else_body;
};

using NodeList = std::vector<std::unique_ptr<Node>>;

}  // namespace kvs::jinja
