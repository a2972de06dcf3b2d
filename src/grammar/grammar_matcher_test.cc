// The token mask: FillMask's trie walk must allow exactly the tokens whose
// bytes the matcher accepts one token at a time, in every state a random
// walk reaches; a state seen again comes from the cache.
#include "grammar/grammar_matcher.h"

#include <gtest/gtest.h>

#include <random>

#include "grammar/gbnf.h"

namespace kvs {
namespace {

bool Allowed(std::span<const uint64_t> bits, int id) { return (bits[id / 64] >> (id % 64)) & 1; }

// A vocabulary of random byte strings over the characters the grammar uses,
// plus multi-byte UTF-8 pieces cut in the middle of a code point.
std::vector<std::string> RandomVocab(std::mt19937& rng, int n) {
  const std::string alphabet = "{}[]\",:0123456789-.eE truefalsnl\\abcxyz\n";
  const std::vector<std::string> utf8 = {"\xC3", "\xA9", "\xC3\xA9", "\xE2\x82", "\xAC", "\xCE\xB2\xCE"};
  std::vector<std::string> vocab = {""};  // a control token: no bytes
  while (static_cast<int>(vocab.size()) < n) {
    std::string s;
    const int len = 1 + static_cast<int>(rng() % 5);
    for (int i = 0; i < len; ++i) {
      if (rng() % 8 == 0) {
        s += utf8[rng() % utf8.size()];
      } else {
        s += alphabet[rng() % alphabet.size()];
      }
    }
    vocab.push_back(s);
  }
  return vocab;
}

constexpr const char* kJsonish = R"(
  root   ::= value
  value  ::= object | array | string | number | "true" | "false" | "null"
  object ::= "{" ws ( pair ( "," ws pair )* )? "}"
  pair   ::= string ":" ws value
  array  ::= "[" ws ( value ( "," ws value )* )? "]"
  string ::= "\"" ( [^"\\] | "\\" ["\\n] )* "\""
  number ::= "-"? [0-9]+ ( "." [0-9]+ )? ( [eE] [0-9]+ )?
  ws     ::= [ \n]?
)";

// With the default DFA size and with one so small that walks mostly run
// uncached. The walks share one cache, as an engine's requests with the
// same grammar do: later walks read masks and transitions earlier ones
// left, and every mask is still checked token by token.
class MaskTest : public ::testing::TestWithParam<size_t> {};

TEST_P(MaskTest, MaskEqualsTokenByTokenAcceptance) {
  auto g = ParseGbnf(kJsonish);
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  std::mt19937 rng(7);
  const std::vector<std::string> vocab = RandomVocab(rng, 600);
  const TokenTrie trie(static_cast<int>(vocab.size()), [&](int id) { return std::string_view(vocab[id]); });
  std::vector<uint64_t> bits((vocab.size() + 63) / 64);
  int checked_states = 0;
  int64_t cached_in_later_walks = 0;
  const auto cache = std::make_shared<GrammarCache>(&*g, GetParam());
  for (int walk = 0; walk < 40; ++walk) {
    GrammarMatcher m(cache);
    for (int step = 0; step < 30; ++step) {
      m.FillMask(trie, bits);
      std::vector<int> allowed;
      for (int id = 0; id < static_cast<int>(vocab.size()); ++id) {
        GrammarMatcher copy = m;
        const bool want = !vocab[id].empty() && copy.Accept(vocab[id]);
        ASSERT_EQ(Allowed(bits, id), want) << "walk " << walk << " step " << step << " token '"
                                           << vocab[id] << "'";
        if (want) allowed.push_back(id);
      }
      ++checked_states;
      if (allowed.empty()) break;
      ASSERT_TRUE(m.Accept(vocab[allowed[rng() % allowed.size()]]));
    }
    if (walk > 0) cached_in_later_walks += m.masks_cached();
  }
  EXPECT_GT(checked_states, 400);
  EXPECT_GT(cached_in_later_walks, 40);  // at least the start state's mask, every walk after the first
}

INSTANTIATE_TEST_SUITE_P(DfaSizes, MaskTest, ::testing::Values(GrammarCache::kMaxDfaStates, 3));

TEST(GrammarMatcherTest, RepetitionKeepsTheStateSoTheMaskIsCached) {
  auto g = ParseGbnf(R"(root ::= "\"" [a-z]* "\"")");
  ASSERT_TRUE(g.ok());
  const std::vector<std::string> vocab = {"\"", "a", "bc", "\"x", "1"};
  const TokenTrie trie(5, [&](int id) { return std::string_view(vocab[id]); });
  std::vector<uint64_t> bits(1);
  GrammarMatcher m(&*g);
  ASSERT_TRUE(m.Accept("\""));
  for (int i = 0; i < 50; ++i) {
    m.FillMask(trie, bits);
    EXPECT_EQ(bits[0], 0b00111u);  // '"', 'a', 'bc'; not '"x' (nothing after the end), not '1'
    ASSERT_TRUE(m.Accept("bc"));
  }
  EXPECT_EQ(m.masks_computed(), 50);
  EXPECT_EQ(m.masks_cached(), 49);
  EXPECT_FALSE(m.IsComplete());
  ASSERT_TRUE(m.Accept("\""));
  EXPECT_TRUE(m.IsComplete());
  EXPECT_FALSE(m.CanContinue());
}

TEST(GrammarMatcherTest, RejectedTokenLeavesTheStateAlone) {
  auto g = ParseGbnf(R"(root ::= "ab" "c"*)");
  ASSERT_TRUE(g.ok());
  GrammarMatcher m(&*g);
  EXPECT_FALSE(m.Accept("ax"));
  EXPECT_TRUE(m.Accept("a"));
  EXPECT_FALSE(m.Accept("c"));
  EXPECT_TRUE(m.Accept("bcc"));
  EXPECT_TRUE(m.IsComplete());
  EXPECT_TRUE(m.CanContinue());
}

TEST(GrammarMatcherTest, AmbiguityIsBounded) {
  // Every split of a run of a's is a parse: stacks stay bounded by dedup.
  auto g = ParseGbnf(R"(root ::= x*
    x ::= "a" | "aa" | "aaa")");
  ASSERT_TRUE(g.ok());
  GrammarMatcher m(&*g);
  for (int i = 0; i < 200; ++i) ASSERT_TRUE(m.Accept("a"));
  EXPECT_TRUE(m.IsComplete());
}

}  // namespace
}  // namespace kvs
