#include "jinja/lexer.h"

#include <gtest/gtest.h>

namespace kvs::jinja {
namespace {

// Tokens as "kind:text" words for compact expectations.
std::string Lex(std::string_view src) {
  auto tokens = Tokenize(src);
  if (!tokens.ok()) return "ERROR " + tokens.status().message();
  std::string out;
  for (const Token& t : *tokens) {
    const char* k = "";
    switch (t.kind) {
      case TokenKind::kData: k = "D"; break;
      case TokenKind::kVarBegin: k = "{{"; break;
      case TokenKind::kVarEnd: k = "}}"; break;
      case TokenKind::kBlockBegin: k = "{%"; break;
      case TokenKind::kBlockEnd: k = "%}"; break;
      case TokenKind::kName: k = "N"; break;
      case TokenKind::kString: k = "S"; break;
      case TokenKind::kInt: k = "I"; break;
      case TokenKind::kFloat: k = "F"; break;
      case TokenKind::kOp: k = "O"; break;
      case TokenKind::kEof: k = "EOF"; break;
    }
    out += std::string(out.empty() ? "" : " ") + k + (t.text.empty() ? "" : ":" + t.text);
  }
  return out;
}

TEST(LexerTest, ExpressionTokens) {
  EXPECT_EQ(Lex("{{ a.b[0] | f(1.5, 'x') }}"),
            "{{ N:a O:. N:b O:[ I:0 O:] O:| N:f O:( F:1.5 O:, S:x O:) }} EOF");
  EXPECT_EQ(Lex("{{ 1_000 // 2 ** 3 != 4 }}"), "{{ I:1000 O:// I:2 O:** I:3 O:!= I:4 }} EOF");
  EXPECT_EQ(Lex("{{ 'a\\n\\u00e9' \"q\\\"\" }}"), "{{ S:a\n\xC3\xA9 S:q\" }} EOF");
  EXPECT_EQ(Lex("{{ {'a': {'b': 1}} }}"), "{{ O:{ S:a O:: O:{ S:b O:: I:1 O:} O:} }} EOF");
}

TEST(LexerTest, WhitespaceControlAsHuggingFaceSetsIt) {
  // trim_blocks eats the newline after %}; lstrip_blocks the indentation before {%.
  EXPECT_EQ(Lex("a\n  {% x %}\nb"), "D:a\n {% N:x %} D:b EOF");
  // Not before {{ (lstrip_blocks is for blocks) nor after }} (trim_blocks too).
  EXPECT_EQ(Lex("  {{ x }}\nb"), "D:   {{ N:x }} D:\nb EOF");
  EXPECT_EQ(Lex("a  \n\n {%- x -%} \n b"), "D:a {% N:x %} D:b EOF");
  EXPECT_EQ(Lex("  {%+ x +%}\nb"), "D:   {% N:x %} D:\nb EOF");
  EXPECT_EQ(Lex("a {# note #}\nb"), "D:a  D:b EOF");
  EXPECT_EQ(Lex("t\r\n"), "D:t EOF");
}

TEST(LexerTest, ErrorsNameTheLine) {
  EXPECT_EQ(Lex("a\n{{ 'open"), "ERROR line 2: unterminated string");
  EXPECT_EQ(Lex("{% if x"), "ERROR line 1: unclosed '{%'");
  EXPECT_EQ(Lex("\n\n{# never closed"), "ERROR line 3: unclosed comment");
  EXPECT_EQ(Lex("{{ a ? b }}"), "ERROR line 1: unexpected character '?'");
  EXPECT_EQ(Lex("x\n{% raw %}{{ y }}{% endraw %}"), "ERROR line 2: '{% raw %}' is not supported");
}

}  // namespace
}  // namespace kvs::jinja
