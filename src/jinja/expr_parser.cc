#include "jinja/expr_parser.h"

#include <cerrno>
#include <cstdlib>

#include "jinja/interpreter.h"

namespace kvs::jinja {

ExprPtr MakeExpr(ExprKind kind, int line) {
  auto e = std::make_unique<Expr>();
  e->kind = kind;
  e->line = line;
  return e;
}

namespace {

// Counts recursion depth for the lifetime of one parse call.
class DepthGuard {
 public:
  explicit DepthGuard(int* d) : d_(d) { ++*d_; }
  ~DepthGuard() { --*d_; }
  bool too_deep() const { return *d_ > kMaxParseDepth; }

 private:
  int* d_;
};

}  // namespace

Status ExprParser::Error(const std::string& what) const {
  return InvalidArgumentError("template line " + std::to_string(Peek().line) + ": " + what);
}

Status ExprParser::Expect(const char* op) {
  if (!IsOp(op)) {
    const Token& t = Peek();
    std::string got = t.kind == TokenKind::kEof       ? "end of template"
                      : t.kind == TokenKind::kBlockEnd ? "%}"
                      : t.kind == TokenKind::kVarEnd   ? "}}"
                                                       : t.text;
    return Error(std::string("expected '") + op + "', got '" + got + "'");
  }
  ++i_;
  return Status();
}

ExprPtr ExprParser::Binary(ExprPtr a, std::string op, ExprPtr b, int line) {
  ExprPtr e = MakeExpr(ExprKind::kBinary, line);
  e->name = std::move(op);
  e->args.push_back(std::move(a));
  e->args.push_back(std::move(b));
  return e;
}

StatusOr<ExprPtr> ExprParser::Expression() {
  DepthGuard g(&depth_);
  if (g.too_deep()) return Error("expression nested too deeply");
  int line = Peek().line;
  KVS_ASSIGN_OR_RETURN(ExprPtr e, Or());
  while (IsName("if")) {
    ++i_;
    ExprPtr c = MakeExpr(ExprKind::kCond, line);
    KVS_ASSIGN_OR_RETURN(ExprPtr cond, Or());
    ExprPtr other;
    if (IsName("else")) {
      ++i_;
      KVS_ASSIGN_OR_RETURN(other, Expression());
    }
    c->args.push_back(std::move(cond));
    c->args.push_back(std::move(e));
    c->args.push_back(std::move(other));
    e = std::move(c);
  }
  return e;
}

StatusOr<ExprPtr> ExprParser::Or() {
  KVS_ASSIGN_OR_RETURN(ExprPtr e, And());
  while (IsName("or")) {
    int line = Peek().line;
    ++i_;
    KVS_ASSIGN_OR_RETURN(ExprPtr r, And());
    e = Binary(std::move(e), "or", std::move(r), line);
  }
  return e;
}

StatusOr<ExprPtr> ExprParser::And() {
  KVS_ASSIGN_OR_RETURN(ExprPtr e, Not());
  while (IsName("and")) {
    int line = Peek().line;
    ++i_;
    KVS_ASSIGN_OR_RETURN(ExprPtr r, Not());
    e = Binary(std::move(e), "and", std::move(r), line);
  }
  return e;
}

StatusOr<ExprPtr> ExprParser::Not() {
  if (IsName("not")) {
    DepthGuard g(&depth_);
    if (g.too_deep()) return Error("expression nested too deeply");
    int line = Peek().line;
    ++i_;
    ExprPtr e = MakeExpr(ExprKind::kUnary, line);
    e->name = "not";
    KVS_ASSIGN_OR_RETURN(ExprPtr x, Not());
    e->args.push_back(std::move(x));
    return e;
  }
  return Compare();
}

StatusOr<ExprPtr> ExprParser::Compare() {
  KVS_ASSIGN_OR_RETURN(ExprPtr e, Math1());
  int n_ops = 0;
  while (true) {
    int line = Peek().line;
    std::string op;
    if (Peek().kind == TokenKind::kOp &&
        (IsOp("==") || IsOp("!=") || IsOp("<") || IsOp(">") || IsOp("<=") || IsOp(">="))) {
      op = Peek().text;
      ++i_;
    } else if (IsName("in")) {
      op = "in";
      ++i_;
    } else if (IsName("not") && IsName("in", 1)) {
      op = "not in";
      i_ += 2;
    } else {
      break;
    }
    KVS_ASSIGN_OR_RETURN(ExprPtr r, Math1());
    // Python chains a < b < c as a < b and b < c; templates do not use it,
    // so a chain is refused rather than evaluated differently.
    if (++n_ops > 1) return Error("chained comparisons are not supported");
    e = Binary(std::move(e), op, std::move(r), line);
  }
  return e;
}

StatusOr<ExprPtr> ExprParser::Math1() {
  KVS_ASSIGN_OR_RETURN(ExprPtr e, Concat());
  while (IsOp("+") || IsOp("-")) {
    int line = Peek().line;
    std::string op = Peek().text;
    ++i_;
    KVS_ASSIGN_OR_RETURN(ExprPtr r, Concat());
    e = Binary(std::move(e), op, std::move(r), line);
  }
  return e;
}

StatusOr<ExprPtr> ExprParser::Concat() {
  KVS_ASSIGN_OR_RETURN(ExprPtr e, Math2());
  while (IsOp("~")) {
    int line = Peek().line;
    ++i_;
    KVS_ASSIGN_OR_RETURN(ExprPtr r, Math2());
    e = Binary(std::move(e), "~", std::move(r), line);
  }
  return e;
}

StatusOr<ExprPtr> ExprParser::Math2() {
  KVS_ASSIGN_OR_RETURN(ExprPtr e, Pow());
  while (IsOp("*") || IsOp("/") || IsOp("//") || IsOp("%")) {
    int line = Peek().line;
    std::string op = Peek().text;
    ++i_;
    KVS_ASSIGN_OR_RETURN(ExprPtr r, Pow());
    e = Binary(std::move(e), op, std::move(r), line);
  }
  return e;
}

StatusOr<ExprPtr> ExprParser::Pow() {
  KVS_ASSIGN_OR_RETURN(ExprPtr e, Unary(true));
  while (IsOp("**")) {
    int line = Peek().line;
    ++i_;
    KVS_ASSIGN_OR_RETURN(ExprPtr r, Unary(true));
    e = Binary(std::move(e), "**", std::move(r), line);
  }
  return e;
}

StatusOr<ExprPtr> ExprParser::Unary(bool with_filter) {
  DepthGuard g(&depth_);
  if (g.too_deep()) return Error("expression nested too deeply");
  ExprPtr e;
  if (IsOp("-") || IsOp("+")) {
    e = MakeExpr(ExprKind::kUnary, Peek().line);
    e->name = Peek().text;
    ++i_;
    KVS_ASSIGN_OR_RETURN(ExprPtr x, Unary(false));
    e->args.push_back(std::move(x));
  } else {
    KVS_ASSIGN_OR_RETURN(e, Primary());
  }
  KVS_ASSIGN_OR_RETURN(e, Postfix(std::move(e)));
  if (with_filter) {
    KVS_ASSIGN_OR_RETURN(e, FilterTest(std::move(e)));
  }
  return e;
}

StatusOr<ExprPtr> ExprParser::Primary() {
  const Token& t = Peek();
  int line = t.line;
  ExprPtr e;
  if (t.kind == TokenKind::kName) {
    ++i_;
    if (t.text == "true" || t.text == "True") {
      e = MakeExpr(ExprKind::kLiteral, line);
      e->value = Value(true);
    } else if (t.text == "false" || t.text == "False") {
      e = MakeExpr(ExprKind::kLiteral, line);
      e->value = Value(false);
    } else if (t.text == "none" || t.text == "None") {
      e = MakeExpr(ExprKind::kLiteral, line);
      e->value = Value::None();
    } else {
      e = MakeExpr(ExprKind::kName, line);
      e->name = t.text;
    }
    return e;
  }
  if (t.kind == TokenKind::kString) {
    std::string s;
    while (Peek().kind == TokenKind::kString) s += t_[i_++].text;  // "a" "b" concatenates
    e = MakeExpr(ExprKind::kLiteral, line);
    e->value = Value(std::move(s));
    return e;
  }
  if (t.kind == TokenKind::kInt || t.kind == TokenKind::kFloat) {
    ++i_;
    e = MakeExpr(ExprKind::kLiteral, line);
    errno = 0;
    if (t.kind == TokenKind::kInt) {
      long long v = std::strtoll(t.text.c_str(), nullptr, 10);
      if (errno == ERANGE) return Error("integer literal out of range: " + t.text);
      e->value = Value(static_cast<int64_t>(v));
    } else {
      e->value = Value(std::strtod(t.text.c_str(), nullptr));
    }
    return e;
  }
  if (IsOp("(")) {
    ++i_;
    if (IsOp(")")) {
      ++i_;
      return MakeExpr(ExprKind::kTuple, line);
    }
    KVS_ASSIGN_OR_RETURN(e, Expression());
    if (IsOp(",")) {
      ExprPtr tup = MakeExpr(ExprKind::kTuple, line);
      tup->args.push_back(std::move(e));
      while (IsOp(",")) {
        ++i_;
        if (IsOp(")")) break;
        KVS_ASSIGN_OR_RETURN(ExprPtr x, Expression());
        tup->args.push_back(std::move(x));
      }
      e = std::move(tup);
    }
    KVS_RETURN_IF_ERROR(Expect(")"));
    return e;
  }
  if (IsOp("[")) {
    ++i_;
    e = MakeExpr(ExprKind::kList, line);
    while (!IsOp("]")) {
      KVS_ASSIGN_OR_RETURN(ExprPtr x, Expression());
      e->args.push_back(std::move(x));
      if (!IsOp("]")) KVS_RETURN_IF_ERROR(Expect(","));
    }
    ++i_;
    return e;
  }
  if (IsOp("{")) {
    ++i_;
    e = MakeExpr(ExprKind::kDict, line);
    while (!IsOp("}")) {
      KVS_ASSIGN_OR_RETURN(ExprPtr k, Expression());
      KVS_RETURN_IF_ERROR(Expect(":"));
      KVS_ASSIGN_OR_RETURN(ExprPtr v, Expression());
      e->args.push_back(std::move(k));
      e->args.push_back(std::move(v));
      if (!IsOp("}")) KVS_RETURN_IF_ERROR(Expect(","));
    }
    ++i_;
    return e;
  }
  std::string got = t.kind == TokenKind::kEof       ? "end of template"
                    : t.kind == TokenKind::kBlockEnd ? "%}"
                    : t.kind == TokenKind::kVarEnd   ? "}}"
                                                     : t.text;
  return Error("unexpected '" + got + "' in an expression");
}

Status ExprParser::CallArgs(Expr* call) {
  KVS_RETURN_IF_ERROR(Expect("("));
  while (!IsOp(")")) {
    if (IsOp("*") || IsOp("**")) return Error("*args / **kwargs in calls are not supported");
    if (Peek().kind == TokenKind::kName && IsOp("=", 1)) {
      std::string key = Peek().text;
      i_ += 2;
      KVS_ASSIGN_OR_RETURN(ExprPtr v, Expression());
      call->kwargs.emplace_back(std::move(key), std::move(v));
    } else {
      if (!call->kwargs.empty()) return Error("positional argument after a keyword argument");
      KVS_ASSIGN_OR_RETURN(ExprPtr v, Expression());
      call->args.push_back(std::move(v));
    }
    if (!IsOp(")")) KVS_RETURN_IF_ERROR(Expect(","));
  }
  ++i_;
  return Status();
}

StatusOr<ExprPtr> ExprParser::Subscript(ExprPtr obj) {
  int line = Peek().line;
  ++i_;  // [
  ExprPtr parts[3];
  int n_colons = 0;
  while (!IsOp("]")) {
    if (IsOp(":")) {
      if (++n_colons > 2) return Error("too many ':' in a slice");
      ++i_;
      continue;
    }
    if (parts[n_colons]) return Error("expected ']' or ':' in a subscript");
    KVS_ASSIGN_OR_RETURN(parts[n_colons], Expression());
  }
  ++i_;
  ExprPtr e;
  if (n_colons == 0) {
    if (!parts[0]) return Error("empty subscript");
    e = MakeExpr(ExprKind::kGetItem, line);
    e->args.push_back(std::move(obj));
    e->args.push_back(std::move(parts[0]));
  } else {
    e = MakeExpr(ExprKind::kSlice, line);
    e->args.push_back(std::move(obj));
    for (auto& p : parts) e->args.push_back(std::move(p));
  }
  return e;
}

StatusOr<ExprPtr> ExprParser::Postfix(ExprPtr e) {
  while (true) {
    int line = Peek().line;
    if (IsOp(".")) {
      ++i_;
      ExprPtr a;
      if (Peek().kind == TokenKind::kName) {
        a = MakeExpr(ExprKind::kGetAttr, line);
        a->name = t_[i_++].text;
        a->args.push_back(std::move(e));
      } else if (Peek().kind == TokenKind::kInt) {  // x.0 is x[0]
        a = MakeExpr(ExprKind::kGetItem, line);
        a->args.push_back(std::move(e));
        ExprPtr idx = MakeExpr(ExprKind::kLiteral, line);
        idx->value = Value(static_cast<int64_t>(std::strtoll(t_[i_++].text.c_str(), nullptr, 10)));
        a->args.push_back(std::move(idx));
      } else {
        return Error("expected an attribute name after '.'");
      }
      e = std::move(a);
    } else if (IsOp("[")) {
      KVS_ASSIGN_OR_RETURN(e, Subscript(std::move(e)));
    } else if (IsOp("(")) {
      ExprPtr c = MakeExpr(ExprKind::kCall, line);
      c->args.push_back(std::move(e));
      KVS_RETURN_IF_ERROR(CallArgs(c.get()));
      e = std::move(c);
    } else {
      return e;
    }
  }
}

StatusOr<ExprPtr> ExprParser::FilterTest(ExprPtr e) {
  while (true) {
    int line = Peek().line;
    if (IsOp("|")) {
      ++i_;
      if (Peek().kind != TokenKind::kName) return Error("expected a filter name after '|'");
      ExprPtr f = MakeExpr(ExprKind::kFilter, line);
      f->name = t_[i_++].text;
      while (IsOp(".") && Peek(1).kind == TokenKind::kName) {  // dotted filter names
        f->name += "." + Peek(1).text;
        i_ += 2;
      }
      if (!IsFilterName(f->name)) return Error("filter '" + f->name + "' is not supported");
      f->args.push_back(std::move(e));
      if (IsOp("(")) KVS_RETURN_IF_ERROR(CallArgs(f.get()));
      e = std::move(f);
    } else if (IsName("is")) {
      ++i_;
      ExprPtr t = MakeExpr(ExprKind::kTest, line);
      if (IsName("not")) {
        t->negated = true;
        ++i_;
      }
      if (Peek().kind != TokenKind::kName) return Error("expected a test name after 'is'");
      t->name = t_[i_++].text;
      if (!IsTestName(t->name)) return Error("test '" + t->name + "' is not supported");
      t->args.push_back(std::move(e));
      if (IsOp("(")) {
        KVS_RETURN_IF_ERROR(CallArgs(t.get()));
      } else if (Peek().kind == TokenKind::kString || Peek().kind == TokenKind::kInt ||
                 Peek().kind == TokenKind::kFloat || IsOp("[") || IsOp("{") ||
                 (Peek().kind == TokenKind::kName && !IsName("else") && !IsName("or") &&
                  !IsName("and"))) {
        if (IsName("is")) return Error("tests cannot be chained with 'is'");
        // One argument without parentheses: `x is divisibleby 3`, `x is sameas none`.
        KVS_ASSIGN_OR_RETURN(ExprPtr arg, Primary());
        KVS_ASSIGN_OR_RETURN(arg, Postfix(std::move(arg)));
        t->args.push_back(std::move(arg));
      }
      e = std::move(t);
    } else {
      return e;
    }
  }
}

}  // namespace kvs::jinja
