// ExprParser: the expression half of the template parser, jinja2's grammar
// and precedence (lowest first): inline if, or, and, not, comparisons and
// in / not in, + -, ~, * / // %, **, unary - +, then postfix (.attr,
// [index], [a:b:c], calls) and filters / tests (| name(...), is [not] name).
// Borrows the token vector and the shared position; not thread-safe.
#pragma once

#include <memory>
#include <vector>

#include "base/status.h"
#include "jinja/ast.h"
#include "jinja/lexer.h"

namespace kvs::jinja {

using ExprPtr = std::unique_ptr<Expr>;

ExprPtr MakeExpr(ExprKind kind, int line);

class ExprParser {
 public:
  // REQUIRES: tokens ends with kEof; *pos indexes it and outlives this.
  ExprParser(const std::vector<Token>& tokens, size_t* pos) : t_(tokens), i_(*pos) {}

  StatusOr<ExprPtr> Expression();  // with inline if
  StatusOr<ExprPtr> Or();          // without (a for loop's iterable)

 private:
  const Token& Peek(size_t k = 0) const { return t_[std::min(i_ + k, t_.size() - 1)]; }
  bool IsOp(const char* op, size_t k = 0) const {
    return Peek(k).kind == TokenKind::kOp && Peek(k).text == op;
  }
  bool IsName(const char* name, size_t k = 0) const {
    return Peek(k).kind == TokenKind::kName && Peek(k).text == name;
  }
  Status Error(const std::string& what) const;
  Status Expect(const char* op);
  StatusOr<ExprPtr> And();
  StatusOr<ExprPtr> Not();
  StatusOr<ExprPtr> Compare();
  StatusOr<ExprPtr> Math1();
  StatusOr<ExprPtr> Concat();
  StatusOr<ExprPtr> Math2();
  StatusOr<ExprPtr> Pow();
  StatusOr<ExprPtr> Unary(bool with_filter);
  StatusOr<ExprPtr> Primary();
  StatusOr<ExprPtr> Postfix(ExprPtr e);
  StatusOr<ExprPtr> FilterTest(ExprPtr e);
  Status CallArgs(Expr* call);
  StatusOr<ExprPtr> Subscript(ExprPtr obj);
  static ExprPtr Binary(ExprPtr a, std::string op, ExprPtr b, int line);

  const std::vector<Token>& t_;
  size_t& i_;
  int depth_ = 0;  // recursion guard: kMaxParseDepth
};

}  // namespace kvs::jinja
