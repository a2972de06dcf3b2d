#include "jinja/parser.h"

#include <cstdlib>
#include <set>

#include "jinja/expr_parser.h"

namespace kvs::jinja {
namespace {


class Parser {
 public:
  explicit Parser(const std::vector<Token>& tokens) : t_(tokens) {}

  StatusOr<NodeList> Run() {
    NodeList out;
    std::string end;
    KVS_RETURN_IF_ERROR(Body({}, &out, &end));
    return out;
  }

 private:
  const Token& Peek(size_t k = 0) const { return t_[std::min(i_ + k, t_.size() - 1)]; }
  const Token& Next() { return t_[std::min(i_++, t_.size() - 1)]; }
  bool IsOp(const char* op, size_t k = 0) const {
    return Peek(k).kind == TokenKind::kOp && Peek(k).text == op;
  }
  bool IsName(const char* name, size_t k = 0) const {
    return Peek(k).kind == TokenKind::kName && Peek(k).text == name;
  }
  Status Error(const std::string& what) const {
    return InvalidArgumentError("template line " + std::to_string(Peek().line) + ": " + what);
  }
  Status Expect(const char* op) {
    if (!IsOp(op)) return Error(std::string("expected '") + op + "', got '" + Describe() + "'");
    ++i_;
    return Status();
  }
  Status ExpectBlockEnd() {
    if (Peek().kind != TokenKind::kBlockEnd) return Error("expected '%}', got '" + Describe() + "'");
    ++i_;
    return Status();
  }
  std::string Describe() const {
    switch (Peek().kind) {
      case TokenKind::kEof: return "end of template";
      case TokenKind::kBlockEnd: return "%}";
      case TokenKind::kVarEnd: return "}}";
      case TokenKind::kData: return "text";
      default: return Peek().text;
    }
  }
  StatusOr<std::string> ExpectName() {
    if (Peek().kind != TokenKind::kName) return Error("expected a name, got '" + Describe() + "'");
    return Next().text;
  }

  // Parses nodes until a block tag whose keyword is in `ends` (returned in
  // *end, the tag's keyword consumed but not its arguments), or the end of
  // the template when `ends` is empty.
  Status Body(const std::set<std::string>& ends, NodeList* out, std::string* end) {
    if (++depth_ > kMaxParseDepth) return Error("blocks nested too deeply");
    while (true) {
      const Token& tok = Peek();
      if (tok.kind == TokenKind::kEof) {
        if (ends.empty()) break;
        return Error("missing '{% " + *ends.rbegin() + " %}'");
      }
      if (tok.kind == TokenKind::kData) {
        auto n = std::make_unique<Node>();
        n->kind = NodeKind::kData;
        n->line = tok.line;
        n->text = tok.text;
        out->push_back(std::move(n));
        ++i_;
      } else if (tok.kind == TokenKind::kVarBegin) {
        ++i_;
        auto n = std::make_unique<Node>();
        n->kind = NodeKind::kOutput;
        n->line = tok.line;
        KVS_ASSIGN_OR_RETURN(n->expr, Expression());
        if (Peek().kind != TokenKind::kVarEnd) return Error("expected '}}', got '" + Describe() + "'");
        ++i_;
        out->push_back(std::move(n));
      } else if (tok.kind == TokenKind::kBlockBegin) {
        ++i_;
        KVS_ASSIGN_OR_RETURN(std::string kw, ExpectName());
        if (ends.count(kw)) {
          *end = kw;
          break;
        }
        KVS_RETURN_IF_ERROR(Statement(kw, tok.line, out));
      } else {
        return Error("unexpected '" + Describe() + "'");
      }
    }
    --depth_;
    return Status();
  }

  Status Statement(const std::string& kw, int line, NodeList* out) {
    auto n = std::make_unique<Node>();
    n->line = line;
    if (kw == "if") {
      KVS_RETURN_IF_ERROR(IfRest(n.get()));
    } else if (kw == "for") {
      KVS_RETURN_IF_ERROR(ForRest(n.get()));
    } else if (kw == "set") {
      KVS_RETURN_IF_ERROR(SetRest(n.get()));
    } else if (kw == "macro") {
      KVS_RETURN_IF_ERROR(MacroRest(n.get()));
    } else if (kw == "break" || kw == "continue") {
      if (loop_depth_ == 0) return Error("'" + kw + "' outside a loop");
      n->kind = kw == "break" ? NodeKind::kBreak : NodeKind::kContinue;
      KVS_RETURN_IF_ERROR(ExpectBlockEnd());
    } else if (kw == "generation") {
      n->kind = NodeKind::kGeneration;
      KVS_RETURN_IF_ERROR(ExpectBlockEnd());
      std::string end;
      KVS_RETURN_IF_ERROR(Body({"endgeneration"}, &n->body, &end));
      KVS_RETURN_IF_ERROR(ExpectBlockEnd());
    } else {
      static const std::set<std::string> kKnown = {
          "call", "include", "import", "from", "extends", "block", "filter", "with",
          "autoescape", "do", "trans", "raw"};
      if (kKnown.count(kw)) {
        return InvalidArgumentError("template line " + std::to_string(line) + ": '{% " + kw +
                                    " %}' is not supported");
      }
      return InvalidArgumentError("template line " + std::to_string(line) +
                                  ": unknown or misplaced tag '" + kw + "'");
    }
    out->push_back(std::move(n));
    return Status();
  }

  Status IfRest(Node* n) {
    n->kind = NodeKind::kIf;
    KVS_ASSIGN_OR_RETURN(n->expr, Expression());
    KVS_RETURN_IF_ERROR(ExpectBlockEnd());
    std::string end;
    KVS_RETURN_IF_ERROR(Body({"elif", "else", "endif"}, &n->body, &end));
    if (end == "elif") {
      auto e = std::make_unique<Node>();
      e->line = Peek().line;
      KVS_RETURN_IF_ERROR(IfRest(e.get()));
      n->else_body.push_back(std::move(e));
      return Status();
    }
    KVS_RETURN_IF_ERROR(ExpectBlockEnd());
    if (end == "else") {
      KVS_RETURN_IF_ERROR(Body({"endif"}, &n->else_body, &end));
      KVS_RETURN_IF_ERROR(ExpectBlockEnd());
    }
    return Status();
  }

  Status ForRest(Node* n) {
    n->kind = NodeKind::kFor;
    do {
      KVS_ASSIGN_OR_RETURN(std::string name, ExpectName());
      n->targets.push_back(name);
    } while (IsOp(",") && (++i_, true));
    if (!IsName("in")) return Error("expected 'in' in for loop, got '" + Describe() + "'");
    ++i_;
    // The iterable is parsed without an inline if: "for x in xs if c" filters.
    KVS_ASSIGN_OR_RETURN(n->expr, Or());
    if (IsName("if")) {
      ++i_;
      KVS_ASSIGN_OR_RETURN(n->cond, Expression());
    }
    if (IsName("recursive")) return Error("recursive for loops are not supported");
    KVS_RETURN_IF_ERROR(ExpectBlockEnd());
    ++loop_depth_;
    std::string end;
    KVS_RETURN_IF_ERROR(Body({"else", "endfor"}, &n->body, &end));
    --loop_depth_;
    KVS_RETURN_IF_ERROR(ExpectBlockEnd());
    if (end == "else") {
      KVS_RETURN_IF_ERROR(Body({"endfor"}, &n->else_body, &end));
      KVS_RETURN_IF_ERROR(ExpectBlockEnd());
    }
    return Status();
  }

  Status SetRest(Node* n) {
    KVS_ASSIGN_OR_RETURN(std::string name, ExpectName());
    n->targets.push_back(name);
    if (IsOp(".")) {
      ++i_;
      KVS_ASSIGN_OR_RETURN(n->attr, ExpectName());
    } else {
      while (IsOp(",")) {
        ++i_;
        KVS_ASSIGN_OR_RETURN(std::string more, ExpectName());
        n->targets.push_back(more);
      }
    }
    if (Peek().kind == TokenKind::kBlockEnd && n->attr.empty() && n->targets.size() == 1) {
      n->kind = NodeKind::kSetBlock;
      ++i_;
      std::string end;
      KVS_RETURN_IF_ERROR(Body({"endset"}, &n->body, &end));
      return ExpectBlockEnd();
    }
    if (IsOp("|")) return Error("filtered set blocks are not supported");
    n->kind = NodeKind::kSet;
    KVS_RETURN_IF_ERROR(Expect("="));
    KVS_ASSIGN_OR_RETURN(n->expr, TupleOrExpression());
    return ExpectBlockEnd();
  }

  Status MacroRest(Node* n) {
    n->kind = NodeKind::kMacro;
    KVS_ASSIGN_OR_RETURN(n->text, ExpectName());
    KVS_RETURN_IF_ERROR(Expect("("));
    while (!IsOp(")")) {
      KVS_ASSIGN_OR_RETURN(std::string p, ExpectName());
      n->targets.push_back(p);
      ExprPtr def;
      if (IsOp("=")) {
        ++i_;
        KVS_ASSIGN_OR_RETURN(def, Expression());
      } else if (!n->defaults.empty() && n->defaults.back() != nullptr) {
        return Error("a macro parameter without a default follows one with a default");
      }
      n->defaults.push_back(std::move(def));
      if (!IsOp(")")) KVS_RETURN_IF_ERROR(Expect(","));
    }
    ++i_;
    KVS_RETURN_IF_ERROR(ExpectBlockEnd());
    int saved_loops = loop_depth_;
    loop_depth_ = 0;
    std::string end;
    KVS_RETURN_IF_ERROR(Body({"endmacro"}, &n->body, &end));
    loop_depth_ = saved_loops;
    if (Peek().kind == TokenKind::kName) ++i_;  // {% endmacro name %}
    return ExpectBlockEnd();
  }

  // "a, b" without parentheses (set x, y = ... / set t = 1, 2).
  StatusOr<ExprPtr> TupleOrExpression() {
    int line = Peek().line;
    KVS_ASSIGN_OR_RETURN(ExprPtr first, Expression());
    if (!IsOp(",")) return first;
    ExprPtr t = MakeExpr(ExprKind::kTuple, line);
    t->args.push_back(std::move(first));
    while (IsOp(",")) {
      ++i_;
      if (Peek().kind == TokenKind::kBlockEnd) break;
      KVS_ASSIGN_OR_RETURN(ExprPtr more, Expression());
      t->args.push_back(std::move(more));
    }
    return t;
  }

  StatusOr<ExprPtr> Expression() { return expr_.Expression(); }
  StatusOr<ExprPtr> Or() { return expr_.Or(); }

  const std::vector<Token>& t_;
  size_t i_ = 0;
  ExprParser expr_{t_, &i_};
  int depth_ = 0;
  int loop_depth_ = 0;
};

}  // namespace

StatusOr<NodeList> Parse(const std::vector<Token>& tokens) { return Parser(tokens).Run(); }

}  // namespace kvs::jinja
