#include "grammar/gbnf.h"

#include <cctype>

#include "grammar/grammar_builder.h"
#include "grammar/utf8.h"

namespace kvs {
namespace {

constexpr int kMaxGbnfDepth = 64;
constexpr int kMaxGbnfCount = 10000;

bool IsNameChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '-' || c == '_';
}

class GbnfParser {
 public:
  explicit GbnfParser(std::string_view text) : s_(text) {}

  StatusOr<Grammar> Parse(std::string_view root) {
    SkipSpace();
    while (pos_ < s_.size()) {
      const std::string name = Name();
      if (name.empty()) return Error("expected a rule name");
      SkipSpace();
      if (s_.substr(pos_, 3) != "::=") return Error("expected '::=' after '" + name + "'");
      pos_ += 3;
      const uint32_t rule = b_.RuleId(name);
      KVS_ASSIGN_OR_RETURN(std::vector<GrammarSequence> alts, Alternatives(name, 0));
      if (pos_ < s_.size() && s_[pos_] == ')') return Error("unbalanced ')'");
      KVS_RETURN_IF_ERROR(b_.Define(rule, std::move(alts)));
    }
    return b_.Build(root);
  }

 private:
  Status Error(const std::string& what) const {
    int line = 1, col = 1;
    for (size_t i = 0; i < pos_ && i < s_.size(); ++i) {
      col = s_[i] == '\n' ? 1 : col + 1;
      line += s_[i] == '\n';
    }
    return InvalidArgumentError("grammar: " + what + " at line " + std::to_string(line) +
                                ", column " + std::to_string(col));
  }

  void SkipSpace() {
    while (pos_ < s_.size()) {
      if (s_[pos_] == '#') {
        while (pos_ < s_.size() && s_[pos_] != '\n') ++pos_;
      } else if (std::isspace(static_cast<unsigned char>(s_[pos_]))) {
        ++pos_;
      } else {
        break;
      }
    }
  }

  std::string Name() {
    const size_t start = pos_;
    while (pos_ < s_.size() && IsNameChar(s_[pos_])) ++pos_;
    return std::string(s_.substr(start, pos_ - start));
  }

  // Whether a new rule starts here: a name followed by "::=".
  bool AtRuleStart() const {
    size_t p = pos_;
    while (p < s_.size() && IsNameChar(s_[p])) ++p;
    if (p == pos_) return false;
    while (p < s_.size() && (s_[p] == ' ' || s_[p] == '\t' || s_[p] == '\n' || s_[p] == '\r')) ++p;
    return s_.substr(p, 3) == "::=";
  }

  // One code point of a literal or class at pos_, escapes decoded.
  StatusOr<uint32_t> CodePoint() {
    if (pos_ >= s_.size()) return Error("unexpected end");
    auto c = static_cast<unsigned char>(s_[pos_]);
    if (c == '\\') {
      if (++pos_ >= s_.size()) return Error("unexpected end after '\\'");
      const char e = s_[pos_++];
      switch (e) {
        case 'n': return uint32_t{'\n'};
        case 'r': return uint32_t{'\r'};
        case 't': return uint32_t{'\t'};
        case '\\': case '"': case '\'': case '[': case ']': case '-': case '^': case '/':
          return static_cast<uint32_t>(e);
        case 'x': return Hex(2);
        case 'u': return Hex(4);
        case 'U': return Hex(8);
        default: --pos_; return Error(std::string("unknown escape '\\") + e + "'");
      }
    }
    uint32_t cp;
    const int len = DecodeUtf8(s_, pos_, &cp);
    if (len == 0) return Error("invalid UTF-8");
    pos_ += len;
    return cp;
  }

  StatusOr<uint32_t> Hex(int digits) {
    uint32_t v = 0;
    for (int i = 0; i < digits; ++i, ++pos_) {
      if (pos_ >= s_.size() || std::isxdigit(static_cast<unsigned char>(s_[pos_])) == 0) {
        return Error("expected " + std::to_string(digits) + " hex digits");
      }
      const char h = static_cast<char>(std::tolower(static_cast<unsigned char>(s_[pos_])));
      v = v * 16 + static_cast<uint32_t>(h <= '9' ? h - '0' : h - 'a' + 10);
    }
    if (v > 0x10FFFF) return Error("code point beyond U+10FFFF");
    return v;
  }

  StatusOr<GrammarSymbol> Class() {
    ++pos_;  // '['
    bool negated = false;
    if (pos_ < s_.size() && s_[pos_] == '^') {
      negated = true;
      ++pos_;
    }
    std::vector<CodepointRange> ranges;
    while (true) {
      if (pos_ >= s_.size()) return Error("unterminated character class");
      if (s_[pos_] == ']') break;
      KVS_ASSIGN_OR_RETURN(uint32_t lo, CodePoint());
      uint32_t hi = lo;
      if (pos_ + 1 < s_.size() && s_[pos_] == '-' && s_[pos_ + 1] != ']') {
        ++pos_;
        KVS_ASSIGN_OR_RETURN(hi, CodePoint());
        if (hi < lo) return Error("character range out of order");
      }
      ranges.push_back({lo, hi});
    }
    ++pos_;  // ']'
    return GrammarBuilder::Class(std::move(ranges), negated);
  }

  StatusOr<int> Count() {
    const size_t start = pos_;
    while (pos_ < s_.size() && std::isdigit(static_cast<unsigned char>(s_[pos_]))) ++pos_;
    if (pos_ == start) return Error("expected a number");
    if (pos_ - start > 5 || std::stoi(std::string(s_.substr(start, pos_ - start))) > kMaxGbnfCount) {
      return Error("repetition count above " + std::to_string(kMaxGbnfCount));
    }
    return std::stoi(std::string(s_.substr(start, pos_ - start)));
  }

  // Alternatives up to ')' (depth > 0), a new rule or the end.
  StatusOr<std::vector<GrammarSequence>> Alternatives(const std::string& rule, int depth) {
    if (depth > kMaxGbnfDepth) return Error("groups nested deeper than " + std::to_string(kMaxGbnfDepth));
    std::vector<GrammarSequence> alts(1);
    while (true) {
      SkipSpace();
      if (pos_ >= s_.size() || s_[pos_] == ')' || AtRuleStart()) break;
      const char c = s_[pos_];
      if (c == '|') {
        ++pos_;
        alts.emplace_back();
        continue;
      }
      GrammarSequence term;  // one term: a literal may be several code points
      if (c == '"') {
        ++pos_;
        while (pos_ < s_.size() && s_[pos_] != '"') {
          KVS_ASSIGN_OR_RETURN(uint32_t cp, CodePoint());
          term.push_back(GrammarBuilder::Char(cp));
        }
        if (pos_ >= s_.size()) return Error("unterminated string literal");
        ++pos_;
      } else if (c == '[') {
        KVS_ASSIGN_OR_RETURN(GrammarSymbol cls, Class());
        term.push_back(std::move(cls));
      } else if (c == '.') {
        ++pos_;
        term.push_back(GrammarBuilder::Class({}, /*negated=*/true));
      } else if (c == '(') {
        ++pos_;
        KVS_ASSIGN_OR_RETURN(std::vector<GrammarSequence> inner, Alternatives(rule, depth + 1));
        if (pos_ >= s_.size() || s_[pos_] != ')') return Error("expected ')'");
        ++pos_;
        const uint32_t group = b_.HelperRule(rule);
        KVS_RETURN_IF_ERROR(b_.Define(group, std::move(inner)));
        term.push_back(GrammarBuilder::Ref(group));
      } else if (IsNameChar(c)) {
        term.push_back(GrammarBuilder::Ref(b_.RuleId(Name())));
      } else {
        return Error(std::string("unexpected '") + c + "'");
      }
      KVS_RETURN_IF_ERROR(Repetition(rule, &term));
      alts.back().insert(alts.back().end(), term.begin(), term.end());
    }
    return alts;
  }

  // Applies a following *, +, ?, {..} to `term` (then one rule reference).
  Status Repetition(const std::string& rule, GrammarSequence* term) {
    if (pos_ >= s_.size()) return Status::Ok();
    int min = 0, max = 0;
    const char c = s_[pos_];
    if (c == '*' || c == '+' || c == '?') {
      ++pos_;
      min = c == '+' ? 1 : 0;
      max = c == '?' ? 1 : GrammarBuilder::kUnbounded;
    } else if (c == '{') {
      ++pos_;
      KVS_ASSIGN_OR_RETURN(min, Count());
      max = min;
      if (pos_ < s_.size() && s_[pos_] == ',') {
        ++pos_;
        max = GrammarBuilder::kUnbounded;
        if (pos_ < s_.size() && s_[pos_] != '}') {
          KVS_ASSIGN_OR_RETURN(max, Count());
          if (max < min) return Error("repetition {m,n} with n < m");
        }
      }
      if (pos_ >= s_.size() || s_[pos_] != '}') return Error("expected '}'");
      ++pos_;
    } else {
      return Status::Ok();
    }
    if (term->empty()) return Status::Ok();  // "" repeated is still ""
    GrammarSymbol item = term->front();
    if (term->size() != 1) {  // a literal of several code points
      item = GrammarBuilder::Ref(b_.HelperRule(rule));
      KVS_RETURN_IF_ERROR(b_.Define(item.rule, {*term}));
    }
    KVS_ASSIGN_OR_RETURN(uint32_t rep, b_.Repeat(item, min, max, rule));
    *term = {GrammarBuilder::Ref(rep)};
    return Status::Ok();
  }

  std::string_view s_;
  size_t pos_ = 0;
  GrammarBuilder b_;
};

}  // namespace

std::string GbnfLiteral(std::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (u < 0x20 || u == 0x7F) {
      static const char kHex[] = "0123456789ABCDEF";
      out += "\\x";
      out += kHex[u >> 4];
      out += kHex[u & 15];
    } else {
      out += c;
    }
  }
  return out + "\"";
}

StatusOr<Grammar> ParseGbnf(std::string_view text, std::string_view root) {
  return GbnfParser(text).Parse(root);
}

}  // namespace kvs
