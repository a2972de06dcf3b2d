#include "jinja/lexer.h"

#include <cctype>

#include "jinja/py_string.h"

namespace kvs::jinja {
namespace {

// jinja2's newline handling: \r\n and \r become \n; one trailing newline
// of the template is dropped (keep_trailing_newline=False).
std::string NormalizeNewlines(std::string_view in) {
  std::string s;
  s.reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '\r') {
      s += '\n';
      if (i + 1 < in.size() && in[i + 1] == '\n') ++i;
    } else {
      s += in[i];
    }
  }
  if (!s.empty() && s.back() == '\n') s.pop_back();
  return s;
}

// Strips trailing Python whitespace (the "-" of {%- / {{- / {#-).
std::string RStrip(std::string_view s) { return PyStrip(s, std::nullopt, false, true); }

bool IsSpaceNoNewline(std::string_view s) {
  if (s.empty()) return false;
  std::string stripped = PyStrip(s, std::nullopt, true, true);
  return stripped.empty() && s.find('\n') == std::string_view::npos;
}

class Lexer {
 public:
  explicit Lexer(std::string src) : src_(std::move(src)) {}

  StatusOr<std::vector<Token>> Run() {
    bool line_starting = true;
    while (pos_ < src_.size()) {
      size_t tag = FindTag(pos_);
      std::string text = src_.substr(pos_, tag - pos_);
      int text_line = line_;
      if (tag == src_.size()) {
        Emit(TokenKind::kData, std::move(text), text_line);
        Advance(src_.size());
        break;
      }
      char kind = src_[tag + 1];  // '{', '%' or '#'
      char sign = tag + 2 < src_.size() ? src_[tag + 2] : '\0';
      if (sign == '-') {
        text = RStrip(text);
      } else if (sign != '+' && kind != '{') {
        // lstrip_blocks: a block or comment tag alone after the indentation
        // of its line takes that indentation away.
        size_t l_pos = text.rfind('\n');
        l_pos = l_pos == std::string::npos ? 0 : l_pos + 1;
        if ((l_pos > 0 || line_starting) && IsSpaceNoNewline(std::string_view(text).substr(l_pos))) {
          text.resize(l_pos);
        }
      }
      Emit(TokenKind::kData, std::move(text), text_line);
      Advance(tag);
      size_t body = tag + 2 + ((sign == '-' || sign == '+') ? 1 : 0);
      if (kind == '#') {
        KVS_RETURN_IF_ERROR(Comment(body, &line_starting));
      } else {
        KVS_RETURN_IF_ERROR(Tag(kind, body, &line_starting));
      }
    }
    out_.push_back({TokenKind::kEof, "", line_});
    return std::move(out_);
  }

 private:
  size_t FindTag(size_t from) const {
    for (size_t i = from; i + 1 < src_.size(); ++i) {
      if (src_[i] == '{' && (src_[i + 1] == '{' || src_[i + 1] == '%' || src_[i + 1] == '#')) {
        return i;
      }
    }
    return src_.size();
  }

  void Advance(size_t to) {
    for (; pos_ < to; ++pos_) {
      if (src_[pos_] == '\n') ++line_;
    }
  }

  void Emit(TokenKind kind, std::string text, int line) {
    if (kind == TokenKind::kData && text.empty()) return;
    out_.push_back({kind, std::move(text), line});
  }

  // After a closing tag: "-" eats all following whitespace; otherwise a block
  // or comment end eats one newline (trim_blocks) unless marked "+".
  void AfterTagEnd(size_t end, char sign, bool block_like, bool* line_starting) {
    size_t p = end;
    if (sign == '-') {
      while (p < src_.size()) {
        std::string_view rest(src_.data() + p, src_.size() - p);
        std::vector<size_t> off = CodePointOffsets(rest.substr(0, std::min<size_t>(4, rest.size())));
        size_t len = off.size() > 1 ? off[1] : 1;
        std::string one(rest.substr(0, len));
        if (!PyStrip(one, std::nullopt, true, true).empty()) break;
        p += len;
      }
    } else if (sign != '+' && block_like && p < src_.size() && src_[p] == '\n') {
      ++p;
    }
    *line_starting = p > 0 && src_[p - 1] == '\n';
    Advance(p);
  }

  Status Comment(size_t body, bool* line_starting) {
    size_t end = src_.find("#}", body);
    if (end == std::string::npos) {
      return InvalidArgumentError("line " + std::to_string(line_) + ": unclosed comment");
    }
    char sign = end > body && (src_[end - 1] == '-' || src_[end - 1] == '+') ? src_[end - 1] : 0;
    Advance(end + 2);
    AfterTagEnd(end + 2, sign, true, line_starting);
    return Status();
  }

  Status Tag(char kind, size_t body, bool* line_starting) {
    int begin_line = line_;
    Emit(kind == '{' ? TokenKind::kVarBegin : TokenKind::kBlockBegin, "", begin_line);
    Advance(body);
    size_t first_token = out_.size();
    int depth = 0;  // open brackets: an end marker inside them is not the end
    size_t p = body;
    while (true) {
      while (p < src_.size() && std::isspace(static_cast<unsigned char>(src_[p]))) ++p;
      Advance(p);
      if (p >= src_.size()) {
        return InvalidArgumentError("line " + std::to_string(begin_line) + ": unclosed " +
                                    (kind == '{' ? "'{{'" : "'{%'"));
      }
      if (depth == 0) {
        const char* close = kind == '{' ? "}}" : "%}";
        char sign = 0;
        size_t at = std::string::npos;
        if ((src_[p] == '-' || (kind == '%' && src_[p] == '+')) &&
            src_.compare(p + 1, 2, close) == 0) {
          sign = src_[p];
          at = p + 1;
        } else if (src_.compare(p, 2, close) == 0) {
          at = p;
        }
        if (at != std::string::npos) {
          Emit(kind == '{' ? TokenKind::kVarEnd : TokenKind::kBlockEnd, "", line_);
          if (kind == '%' && out_.size() > first_token && out_[first_token].kind == TokenKind::kName &&
              out_[first_token].text == "raw") {
            return InvalidArgumentError("line " + std::to_string(begin_line) +
                                        ": '{% raw %}' is not supported");
          }
          Advance(at + 2);
          AfterTagEnd(at + 2, sign, kind == '%', line_starting);
          return Status();
        }
      }
      KVS_ASSIGN_OR_RETURN(p, Lex(p, &depth));
    }
  }

  // One expression token at p; returns the position after it.
  StatusOr<size_t> Lex(size_t p, int* depth) {
    unsigned char c = static_cast<unsigned char>(src_[p]);
    int line = line_;
    if (std::isalpha(c) || c == '_') {
      size_t e = p;
      while (e < src_.size() && (std::isalnum(static_cast<unsigned char>(src_[e])) || src_[e] == '_')) ++e;
      Emit(TokenKind::kName, src_.substr(p, e - p), line);
      return e;
    }
    if (std::isdigit(c)) return Number(p);
    if (c == '\'' || c == '"') return String(p);
    static const char* kOps[] = {"//", "**", "==", "!=", "<=", ">=", "+", "-", "*", "/", "%", "~",
                                 "<",  ">",  "=",  ".",  ",",  ":", "|", "(", ")", "[", "]", "{", "}"};
    for (const char* op : kOps) {
      size_t n = std::char_traits<char>::length(op);
      if (src_.compare(p, n, op) == 0) {
        if (op[0] == '(' || op[0] == '[' || op[0] == '{') ++*depth;
        if ((op[0] == ')' || op[0] == ']' || op[0] == '}') && *depth > 0) --*depth;
        Emit(TokenKind::kOp, op, line);
        return p + n;
      }
    }
    return InvalidArgumentError("line " + std::to_string(line) + ": unexpected character '" +
                                std::string(1, static_cast<char>(c)) + "'");
  }

  StatusOr<size_t> Number(size_t p) {
    auto digits = [&](size_t q) {
      while (q < src_.size() && (std::isdigit(static_cast<unsigned char>(src_[q])) ||
                                 (src_[q] == '_' && q + 1 < src_.size() &&
                                  std::isdigit(static_cast<unsigned char>(src_[q + 1]))))) {
        ++q;
      }
      return q;
    };
    size_t e = digits(p);
    bool is_float = false;
    if (e + 1 < src_.size() && src_[e] == '.' && std::isdigit(static_cast<unsigned char>(src_[e + 1]))) {
      e = digits(e + 1);
      is_float = true;
    }
    if (e < src_.size() && (src_[e] == 'e' || src_[e] == 'E')) {
      size_t q = e + 1;
      if (q < src_.size() && (src_[q] == '+' || src_[q] == '-')) ++q;
      if (q < src_.size() && std::isdigit(static_cast<unsigned char>(src_[q]))) {
        e = digits(q);
        is_float = true;
      }
    }
    std::string text;
    for (size_t i = p; i < e; ++i) {
      if (src_[i] != '_') text += src_[i];
    }
    Emit(is_float ? TokenKind::kFloat : TokenKind::kInt, std::move(text), line_);
    return e;
  }

  static void AppendUtf8(std::string* out, uint32_t cp) {
    if (cp < 0x80) {
      *out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      *out += static_cast<char>(0xc0 | (cp >> 6));
      *out += static_cast<char>(0x80 | (cp & 0x3f));
    } else if (cp < 0x10000) {
      *out += static_cast<char>(0xe0 | (cp >> 12));
      *out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
      *out += static_cast<char>(0x80 | (cp & 0x3f));
    } else {
      *out += static_cast<char>(0xf0 | (cp >> 18));
      *out += static_cast<char>(0x80 | ((cp >> 12) & 0x3f));
      *out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
      *out += static_cast<char>(0x80 | (cp & 0x3f));
    }
  }

  // A quoted string with Python's escapes; unknown escapes stay as written.
  StatusOr<size_t> String(size_t p) {
    char quote = src_[p];
    int line = line_;
    std::string value;
    size_t q = p + 1;
    while (true) {
      if (q >= src_.size()) {
        return InvalidArgumentError("line " + std::to_string(line) + ": unterminated string");
      }
      char c = src_[q];
      if (c == quote) break;
      if (c != '\\' || q + 1 >= src_.size()) {
        value += c;
        ++q;
        continue;
      }
      char e = src_[q + 1];
      q += 2;
      switch (e) {
        case 'n': value += '\n'; break;
        case 't': value += '\t'; break;
        case 'r': value += '\r'; break;
        case '\\': value += '\\'; break;
        case '\'': value += '\''; break;
        case '"': value += '"'; break;
        case '\n': break;
        case 'a': value += '\a'; break;
        case 'b': value += '\b'; break;
        case 'f': value += '\f'; break;
        case 'v': value += '\v'; break;
        case '0': value += '\0'; break;
        case 'x':
        case 'u':
        case 'U': {
          size_t n = e == 'x' ? 2 : e == 'u' ? 4 : 8;
          uint32_t cp = 0;
          for (size_t k = 0; k < n; ++k) {
            if (q + k >= src_.size() || !std::isxdigit(static_cast<unsigned char>(src_[q + k]))) {
              return InvalidArgumentError("line " + std::to_string(line) +
                                          ": truncated \\" + std::string(1, e) + " escape");
            }
            cp = cp * 16 + std::stoul(std::string(1, src_[q + k]), nullptr, 16);
          }
          if (cp > 0x10ffff) {
            return InvalidArgumentError("line " + std::to_string(line) + ": bad escape");
          }
          AppendUtf8(&value, cp);
          q += n;
          break;
        }
        default:
          value += '\\';
          value += e;
      }
    }
    Emit(TokenKind::kString, std::move(value), line);
    return q + 1;
  }

  std::string src_;
  size_t pos_ = 0;
  int line_ = 1;
  std::vector<Token> out_;
};

}  // namespace

StatusOr<std::vector<Token>> Tokenize(std::string_view source) {
  return Lexer(NormalizeNewlines(source)).Run();
}

}  // namespace kvs::jinja
