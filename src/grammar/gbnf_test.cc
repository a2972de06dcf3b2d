// GBNF parsing and matching on hand-checked examples: what each construct
// accepts and rejects, and errors that name the problem. (The broad check
// against an independent recognizer is tests/grammar_reference_test.cc.)
#include "grammar/gbnf.h"

#include <gtest/gtest.h>

#include "grammar/grammar_matcher.h"

namespace kvs {
namespace {

// Whether `g` matches all of `text`.
bool Matches(const Grammar& g, std::string_view text) {
  GrammarMatcher m(&g);
  return m.Accept(text) && m.IsComplete();
}

Grammar MustParse(std::string_view text) {
  auto g = ParseGbnf(text);
  EXPECT_TRUE(g.ok()) << g.status().ToString() << "\n" << text;
  return g.ok() ? *std::move(g) : Grammar{};
}

TEST(GbnfTest, LiteralsClassesAndAlternatives) {
  const Grammar g = MustParse(R"(root ::= "yes" | "no" | [0-9] [a-c]  # comment
  )");
  for (const char* ok : {"yes", "no", "7a", "0c"}) EXPECT_TRUE(Matches(g, ok)) << ok;
  for (const char* bad : {"", "ye", "yess", "7", "7d", "a7", "No"}) EXPECT_FALSE(Matches(g, bad)) << bad;
}

TEST(GbnfTest, Repetition) {
  const Grammar g = MustParse(R"(root ::= "a"* "b"+ "c"? [x]{2} [y]{1,3} "zz"{0,})");
  for (const char* ok : {"bxxy", "aaabbbcxxyyy", "bcxxyzzzz", "abxxyy"}) EXPECT_TRUE(Matches(g, ok)) << ok;
  for (const char* bad : {"xxy", "bxy", "bxxyyyy", "bxxyz", "bccxxy"}) EXPECT_FALSE(Matches(g, bad)) << bad;
}

TEST(GbnfTest, NegatedClassesAnyCharAndGroups) {
  const Grammar g = MustParse(R"(
    root ::= "\"" ( [^"\\] | "\\" ["\\n] )* "\"" . )");
  for (const char* ok : {"\"\"x", "\"ab\\\"c\"!", "\"\\n\"\xC3\xA9"}) EXPECT_TRUE(Matches(g, ok)) << ok;
  for (const char* bad : {"\"a\"", "\"\\x\"y", "\"a\"bc"}) EXPECT_FALSE(Matches(g, bad)) << bad;
}

TEST(GbnfTest, RulesReferEachOtherAndRecurseOnTheRight) {
  const Grammar g = MustParse(R"(
    root ::= list
    list ::= "[" ( item ( "," item )* )? "]"
    item ::= [0-9]+ | list
  )");
  for (const char* ok : {"[]", "[1,22,[3,[]]]", "[[[[]]]]"}) EXPECT_TRUE(Matches(g, ok)) << ok;
  for (const char* bad : {"[", "[1,]", "[,1]", "[[]", "1"}) EXPECT_FALSE(Matches(g, bad)) << bad;
}

TEST(GbnfTest, CodePointsAcrossSplitBytes) {
  const Grammar g = MustParse(R"(root ::= [α-ω]+ "\u00e9" [\U0001F600])");
  GrammarMatcher m(&g);
  const std::string text = "βγ\xC3\xA9\xF0\x9F\x98\x80";
  for (char c : text) ASSERT_TRUE(m.Accept(std::string_view(&c, 1)));
  EXPECT_TRUE(m.IsComplete());
  GrammarMatcher m2(&g);
  // The first byte of "a" can start nothing here; the first byte of "ж" (U+0436, Cyrillic)
  // starts a two-byte code point but none in [α-ω] (U+03B1-U+03C9).
  EXPECT_FALSE(m2.Accept("a"));
  EXPECT_FALSE(m2.Accept("\xD0"));
  EXPECT_TRUE(m2.Accept("\xCE"));  // U+0380-U+03BF holds α
}

TEST(GbnfTest, OnlyShortestFormUtf8) {
  // A space spelled C0 A0, "é" spelled E0 83 A9, a surrogate (ED A0 80)
  // and a code point past U+10FFFF (F4 90 80 80) are not text: byte tokens
  // of a vocabulary must not smuggle them in.
  const Grammar g = MustParse(R"(root ::= [ ] . "x")");
  EXPECT_TRUE(Matches(g, " \xC3\xA9x"));
  for (const char* bad : {"\xC0\xA0\xC3\xA9x", " \xE0\x83\xA9x", " \xED\xA0\x80x", " \xF4\x90\x80\x80x"}) {
    EXPECT_FALSE(Matches(g, bad)) << bad;
  }
  GrammarMatcher m(&g);
  EXPECT_FALSE(m.Accept("\xC0"));  // no shortest-form code point starts so
  EXPECT_FALSE(m.Accept("\xC1"));
  EXPECT_FALSE(m.Accept("\xF5"));
  EXPECT_TRUE(m.Accept(" \xF4\x8F"));  // up to U+10FFFF is fine
}

TEST(GbnfTest, ErrorsNameTheProblem) {
  const struct {
    const char* text;
    const char* message;
  } cases[] = {
      {"root ::= item", "'item' is used but not defined"},
      {"root ::= root \"a\" | \"b\"", "'root' is left-recursive"},
      {"root ::= a\na ::= b? a \"x\"\nb ::= \"y\"", "left-recursive"},
      {"root ::= \"abc", "unterminated string literal at line 1"},
      {"root ::= [a-", "unterminated character class"},
      {"root ::= \"\\q\"", "unknown escape '\\q'"},
      {"root ::= \"a\"{3,1}", "n < m"},
      {"root ::= \"a\"{100000}", "repetition count above"},
      {"root ::= ( \"a\" ", "expected ')'"},
      {"root ::= \"a\" )", "unbalanced ')'"},
      {"root = \"a\"", "expected '::='"},
      {"other ::= \"a\"", "no rule 'root'"},
      {"root ::= \"a\"\nroot ::= \"b\"", "defined twice"},
      {"root ::= [z-a]", "out of order"},
  };
  for (const auto& c : cases) {
    auto g = ParseGbnf(c.text);
    ASSERT_FALSE(g.ok()) << c.text;
    EXPECT_NE(g.status().message().find(c.message), std::string::npos)
        << c.text << " -> " << g.status().message();
  }
}

TEST(GbnfTest, DeepNestingIsRefusedNotOverflowed) {
  std::string text = "root ::= ";
  for (int i = 0; i < 10000; ++i) text += "(";
  auto g = ParseGbnf(text);
  ASSERT_FALSE(g.ok());
  EXPECT_NE(g.status().message().find("nested deeper"), std::string::npos);
}

}  // namespace
}  // namespace kvs
