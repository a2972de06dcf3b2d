// GrammarCacheLru: equal grammars (compiled separately) share one cache,
// different ones do not, and the least recently used is dropped.
#include "grammar/grammar_cache_lru.h"

#include <gtest/gtest.h>

#include "grammar/gbnf.h"
#include "grammar/grammar_matcher.h"

namespace kvs {
namespace {

std::shared_ptr<const Grammar> Compile(const char* gbnf) {
  auto g = ParseGbnf(gbnf);
  EXPECT_TRUE(g.ok()) << g.status().ToString();
  return std::make_shared<const Grammar>(std::move(*g));
}

TEST(GrammarCacheLruTest, EqualGrammarsShareACache) {
  GrammarCacheLru lru(4);
  const auto a1 = lru.Get(Compile(R"(root ::= "a" [0-9]*)"));
  const auto a2 = lru.Get(Compile(R"(root ::= "a" [0-9]*)"));
  const auto b = lru.Get(Compile(R"(root ::= "a" [0-8]*)"));  // one range differs
  const auto c = lru.Get(Compile(R"(root ::= "b" [0-9]*)"));
  EXPECT_EQ(a1, a2);
  EXPECT_NE(a1, b);
  EXPECT_NE(a1, c);
  EXPECT_NE(b, c);
  EXPECT_EQ(lru.size(), 3u);
}

TEST(GrammarCacheLruTest, TheLeastRecentlyUsedGoes) {
  GrammarCacheLru lru(2);
  const auto a = lru.Get(Compile(R"(root ::= "a")"));
  const auto b = lru.Get(Compile(R"(root ::= "b")"));
  EXPECT_EQ(lru.Get(Compile(R"(root ::= "a")")), a);  // a is now the most recent
  lru.Get(Compile(R"(root ::= "c")"));                // drops b
  EXPECT_EQ(lru.size(), 2u);
  EXPECT_EQ(lru.Get(Compile(R"(root ::= "a")")), a);
  EXPECT_NE(lru.Get(Compile(R"(root ::= "b")")), b);  // made anew
  // The dropped cache lives on where it is held, its grammar with it.
  GrammarMatcher m(b);
  EXPECT_TRUE(m.Accept("b"));
  EXPECT_TRUE(m.IsComplete());
}

TEST(GrammarCacheLruTest, ASecondMatcherReadsTheFirstOnesMasks) {
  GrammarCacheLru lru(2);
  const std::vector<std::string> vocab = {"\"", "a", "bc", "\"x", "1"};
  const TokenTrie trie(5, [&](int id) { return std::string_view(vocab[id]); });
  std::vector<uint64_t> first(1), second(1);
  GrammarMatcher m1(lru.Get(Compile(R"(root ::= "\"" [a-z]* "\"")")));
  GrammarMatcher m2(lru.Get(Compile(R"(root ::= "\"" [a-z]* "\"")")));
  ASSERT_TRUE(m1.Accept("\"a"));
  m1.FillMask(trie, first);
  EXPECT_EQ(m1.masks_cached(), 0);
  ASSERT_TRUE(m2.Accept("\"bc"));  // the same state by another path
  m2.FillMask(trie, second);
  EXPECT_EQ(m2.masks_cached(), 1);
  EXPECT_EQ(second, first);
  EXPECT_EQ(second[0], 0b00111u);  // '"', 'a', 'bc'
}

}  // namespace
}  // namespace kvs
