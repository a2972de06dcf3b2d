// Lexer: Jinja template source -> tokens, with the whitespace control Hugging
// Face renders chat templates with (jinja2's trim_blocks and lstrip_blocks on,
// keep_trailing_newline off): data text between tags arrives already trimmed.
//
// Newlines in the source are normalized to "\n" and one trailing newline is
// dropped, as jinja2 does. `{% raw %}` is refused here (its body is not
// tokenized like the rest). Stateless function; thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace kvs::jinja {

enum class TokenKind {
  kData,        // literal text
  kVarBegin,    // {{
  kVarEnd,      // }}
  kBlockBegin,  // {%
  kBlockEnd,    // %}
  kName,
  kString,      // text: the unescaped value
  kInt,
  kFloat,
  kOp,          // text: the operator, e.g. "==", "(", "|"
  kEof,
};

struct Token {
  TokenKind kind;
  std::string text;
  int line;  // 1-based line of the token's start
};

StatusOr<std::vector<Token>> Tokenize(std::string_view source);


}  // namespace kvs::jinja
