#include "grammar/regex.h"

#include <cctype>
#include <cstdio>

#include "grammar/utf8.h"

namespace kvs {
namespace {

constexpr int kMaxRegexDepth = 64;

// A code point as GBNF writes it inside a literal or a class.
std::string Escaped(uint32_t cp) {
  char buf[16];
  if (cp < 0x20 || cp == 0x7F || cp == '"' || cp == '\\' || cp == '[' || cp == ']' || cp == '-' ||
      cp == '^') {
    std::snprintf(buf, sizeof(buf), "\\x%02X", cp);
    return buf;
  }
  if (cp < 0x80) return std::string(1, static_cast<char>(cp));
  std::snprintf(buf, sizeof(buf), cp <= 0xFFFF ? "\\u%04X" : "\\U%08X", cp);
  return buf;
}

class RegexConverter {
 public:
  explicit RegexConverter(std::string_view p) : p_(p) {}

  StatusOr<std::string> Convert() {
    if (!p_.empty() && p_[0] == '^') ++pos_;
    KVS_ASSIGN_OR_RETURN(std::string body, Alternation(0));
    if (pos_ < p_.size()) return Error(p_[pos_] == ')' ? "unbalanced ')'" : "unexpected character");
    return "root ::= " + body + "\n";
  }

 private:
  Status Error(const std::string& what) const {
    return InvalidArgumentError("regex: " + what + " at offset " + std::to_string(pos_));
  }

  bool AtEnd() const { return pos_ >= p_.size(); }

  StatusOr<uint32_t> CodePoint() {
    uint32_t cp;
    const int len = DecodeUtf8(p_, pos_, &cp);
    if (len == 0) return Error("invalid UTF-8");
    pos_ += len;
    return cp;
  }

  StatusOr<uint32_t> Hex(int digits) {
    uint32_t v = 0;
    for (int i = 0; i < digits; ++i, ++pos_) {
      if (AtEnd() || std::isxdigit(static_cast<unsigned char>(p_[pos_])) == 0) return Error("bad hex escape");
      const char h = static_cast<char>(std::tolower(static_cast<unsigned char>(p_[pos_])));
      v = v * 16 + static_cast<uint32_t>(h <= '9' ? h - '0' : h - 'a' + 10);
    }
    return v;
  }

  // After a backslash: a class shorthand as a GBNF class body (without
  // brackets, `negated` set for \D \W \S), or one code point.
  struct Escape {
    std::string shorthand;  // "0-9" etc.; empty for a code point
    bool negated = false;
    uint32_t cp = 0;
  };
  StatusOr<Escape> ReadEscape() {
    if (AtEnd()) return Error("trailing backslash");
    const char e = p_[pos_++];
    Escape out;
    switch (e) {
      case 'd': case 'D': out.shorthand = "0-9"; break;
      case 'w': case 'W': out.shorthand = "a-zA-Z0-9_"; break;
      case 's': case 'S': out.shorthand = " \\t\\n\\r\\x0B\\x0C"; break;
      case 'n': out.cp = '\n'; return out;
      case 't': out.cp = '\t'; return out;
      case 'r': out.cp = '\r'; return out;
      case 'f': out.cp = '\f'; return out;
      case 'v': out.cp = '\v'; return out;
      case 'x': { KVS_ASSIGN_OR_RETURN(out.cp, Hex(2)); return out; }
      case 'u': { KVS_ASSIGN_OR_RETURN(out.cp, Hex(4)); return out; }
      default:
        if (std::isalnum(static_cast<unsigned char>(e)) != 0) {
          --pos_;
          return Error(std::string("unsupported escape '\\") + e + "'");
        }
        out.cp = static_cast<unsigned char>(e);
        return out;
    }
    out.negated = std::isupper(static_cast<unsigned char>(e)) != 0;
    return out;
  }

  StatusOr<std::string> Class() {
    ++pos_;  // '['
    bool negated = false;
    if (!AtEnd() && p_[pos_] == '^') {
      negated = true;
      ++pos_;
    }
    std::string body;
    bool first = true;
    while (true) {
      if (AtEnd()) return Error("unterminated class");
      if (p_[pos_] == ']' && !first) break;
      first = false;
      uint32_t lo;
      if (p_[pos_] == '\\') {
        ++pos_;
        KVS_ASSIGN_OR_RETURN(Escape e, ReadEscape());
        if (!e.shorthand.empty()) {
          if (e.negated) return Error("negated shorthand inside a class");
          body += e.shorthand;
          continue;
        }
        lo = e.cp;
      } else {
        KVS_ASSIGN_OR_RETURN(lo, CodePoint());
      }
      uint32_t hi = lo;
      if (pos_ + 1 < p_.size() && p_[pos_] == '-' && p_[pos_ + 1] != ']') {
        ++pos_;
        if (p_[pos_] == '\\') {
          ++pos_;
          KVS_ASSIGN_OR_RETURN(Escape e, ReadEscape());
          if (!e.shorthand.empty()) return Error("a shorthand as a range end");
          hi = e.cp;
        } else {
          KVS_ASSIGN_OR_RETURN(hi, CodePoint());
        }
        if (hi < lo) return Error("class range out of order");
      }
      body += Escaped(lo);
      if (hi != lo) body += "-" + Escaped(hi);
    }
    ++pos_;  // ']'
    return std::string(negated ? "[^" : "[") + body + "]";
  }

  StatusOr<std::string> Atom(int depth) {
    const char c = p_[pos_];
    if (c == '(') {
      ++pos_;
      if (p_.substr(pos_, 2) == "?:") {
        pos_ += 2;
      } else if (!AtEnd() && p_[pos_] == '?') {
        return Error("unsupported group (lookaround, named group or flags)");
      }
      KVS_ASSIGN_OR_RETURN(std::string inner, Alternation(depth + 1));
      if (AtEnd() || p_[pos_] != ')') return Error("expected ')'");
      ++pos_;
      return "( " + inner + " )";
    }
    if (c == '[') return Class();
    if (c == '.') {
      ++pos_;
      return std::string("[^\\n]");
    }
    if (c == '\\') {
      ++pos_;
      KVS_ASSIGN_OR_RETURN(Escape e, ReadEscape());
      if (!e.shorthand.empty()) return std::string(e.negated ? "[^" : "[") + e.shorthand + "]";
      return "\"" + Escaped(e.cp) + "\"";
    }
    if (c == '*' || c == '+' || c == '?' || c == '{') return Error("nothing to repeat");
    if (c == '^' || c == '$') return Error("anchors are only supported at the ends");
    KVS_ASSIGN_OR_RETURN(uint32_t cp, CodePoint());
    return "\"" + Escaped(cp) + "\"";
  }

  // A quantifier after an atom, as GBNF writes it ("" if none).
  StatusOr<std::string> Quantifier() {
    if (AtEnd()) return std::string();
    std::string q;
    const char c = p_[pos_];
    if (c == '*' || c == '+' || c == '?') {
      ++pos_;
      q = std::string(1, c);
    } else if (c == '{') {
      const size_t close = p_.find('}', pos_);
      const std::string inner(p_.substr(pos_ + 1, close == std::string_view::npos ? 0 : close - pos_ - 1));
      size_t i = 0;
      while (i < inner.size() && (std::isdigit(static_cast<unsigned char>(inner[i])) != 0 || inner[i] == ',')) ++i;
      if (close == std::string_view::npos || inner.empty() || i != inner.size() || inner[0] == ',' ||
          inner.find(',') != inner.rfind(',')) {
        return Error("bad {m,n} quantifier");
      }
      q = "{" + inner + "}";
      pos_ = close + 1;
    } else {
      return std::string();
    }
    if (!AtEnd() && (p_[pos_] == '?' || p_[pos_] == '+')) ++pos_;  // lazy/possessive: same full matches
    if (!AtEnd() && (p_[pos_] == '*' || p_[pos_] == '+' || p_[pos_] == '?' || p_[pos_] == '{')) {
      return Error("multiple repeat");
    }
    return q;
  }

  StatusOr<std::string> Alternation(int depth) {
    if (depth > kMaxRegexDepth) return Error("groups nested deeper than " + std::to_string(kMaxRegexDepth));
    std::string out;
    std::string seq;
    while (true) {
      if (AtEnd() || p_[pos_] == ')' || p_[pos_] == '|') {
        out += seq.empty() ? "\"\"" : seq;
        if (AtEnd() || p_[pos_] == ')') return out;
        ++pos_;
        out += " | ";
        seq.clear();
        continue;
      }
      if (p_[pos_] == '$' && pos_ + 1 == p_.size()) {
        ++pos_;
        continue;
      }
      KVS_ASSIGN_OR_RETURN(std::string atom, Atom(depth));
      KVS_ASSIGN_OR_RETURN(std::string q, Quantifier());
      if (!q.empty()) atom = "( " + atom + " )" + q;
      seq += (seq.empty() ? "" : " ") + atom;
    }
  }

  std::string_view p_;
  size_t pos_ = 0;
};

}  // namespace

StatusOr<std::string> RegexToGbnf(std::string_view pattern) { return RegexConverter(pattern).Convert(); }

}  // namespace kvs
