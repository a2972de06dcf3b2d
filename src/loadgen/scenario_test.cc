#include "loadgen/scenario.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>

#include "loadgen/story_text.h"

namespace kvs::loadgen {
namespace {

ScenarioOptions Options(const std::string& name, int max_model_len = 512) {
  ScenarioOptions o;
  o.name = name;
  o.seed = 7;
  o.max_model_len = max_model_len;
  o.chars_per_token = 3.0;
  return o;
}

size_t Chars(const RequestSpec& r) {
  size_t n = 0;
  for (const auto& m : r.messages) n += m.content.size();
  return n;
}

TEST(StoryTextTest, DeterministicPerSeedAndPlainEnglish) {
  StoryText a(5), b(5), c(6);
  const std::string ta = a.Paragraph(300);
  EXPECT_EQ(ta, b.Paragraph(300));
  EXPECT_NE(ta, c.Paragraph(300));
  EXPECT_GE(ta.size(), 300u);
  for (char ch : ta) EXPECT_TRUE(ch >= 32 && ch < 127) << "non-ASCII byte in story text";
  StoryText d(1);
  const std::string t = d.TextOfTokens(100, 3.0);
  EXPECT_LE(t.size(), 300u);
  EXPECT_GT(t.size(), 250u);  // cut at a word, so close to the target
}

TEST(ScenarioTest, AllNamesBuildAndUnknownFails) {
  for (const auto& name : ScenarioNames()) {
    auto s = MakeScenario(Options(name));
    ASSERT_TRUE(s.ok()) << name << ": " << s.status().ToString();
    EXPECT_FALSE((*s)->Session(0).empty());
  }
  EXPECT_EQ(MakeScenario(Options("no-such")).status().code(), StatusCode::kInvalidArgument);
}

TEST(ScenarioTest, SessionsDependOnlyOnSeedAndIndex) {
  auto s1 = MakeScenario(Options("mixed-lengths"));
  auto s2 = MakeScenario(Options("mixed-lengths"));
  ASSERT_TRUE(s1.ok() && s2.ok());
  // Asking in a different order gives the same sessions.
  const auto late = (*s2)->Session(9);
  EXPECT_EQ((*s1)->Session(9)[0].messages[0].content, late[0].messages[0].content);
  EXPECT_NE((*s1)->Session(8)[0].messages[0].content, late[0].messages[0].content);
}

TEST(ScenarioTest, SharedSystemPromptShrinksToContextAndSharesThePrefix) {
  auto s = MakeScenario(Options("shared-system-prompt", 512));
  ASSERT_TRUE(s.ok());
  const ResolvedLengths& l = (*s)->lengths();
  EXPECT_LT(l.system_prompt_tokens, 1000);  // default shrunk for a 512 context
  EXPECT_GT(l.system_prompt_tokens, 300);   // but still most of it
  EXPECT_LE(l.system_prompt_tokens + l.prompt_tokens + l.max_tokens, 512);
  std::set<std::string> systems, users;
  for (int i = 0; i < 20; ++i) {
    auto r = (*s)->Session(i).at(0);
    ASSERT_EQ(r.messages.size(), 2u);
    systems.insert(r.messages[0].content);
    users.insert(r.messages[1].content);
    // Characters stay within the context at the estimate used.
    EXPECT_LE(Chars(r) / 3.0 + r.max_tokens, 512);
  }
  EXPECT_EQ(systems.size(), 1u);
  EXPECT_GT(users.size(), 15u);
  // A big context keeps the 1,000-token default.
  auto big = MakeScenario(Options("shared-system-prompt", 4096));
  ASSERT_TRUE(big.ok());
  EXPECT_EQ((*big)->lengths().system_prompt_tokens, 1000);
}

TEST(ScenarioTest, ExplicitLengthThatCannotFitIsAnError) {
  ScenarioOptions o = Options("shared-system-prompt", 512);
  o.system_prompt_tokens = 1000;
  o.max_tokens = 64;
  EXPECT_EQ(MakeScenario(o).status().code(), StatusCode::kInvalidArgument);
}

TEST(ScenarioTest, MultiTurnResendsTheWholeHistory) {
  auto s = MakeScenario(Options("multi-turn", 1024));
  ASSERT_TRUE(s.ok());
  auto turns = (*s)->Session(3);
  ASSERT_EQ(static_cast<int>(turns.size()), (*s)->lengths().turns);
  for (size_t t = 1; t < turns.size(); ++t) {
    const auto& prev = turns[t - 1].messages;
    const auto& cur = turns[t].messages;
    ASSERT_EQ(cur.size(), prev.size() + 2);  // + assistant answer + user turn
    for (size_t m = 0; m < prev.size(); ++m) EXPECT_EQ(cur[m].content, prev[m].content);
    EXPECT_EQ(cur[prev.size()].role, "assistant");
    EXPECT_EQ(turns[t].turn, static_cast<int>(t));
  }
  EXPECT_LE(Chars(turns.back()) / 3.0 + turns.back().max_tokens, 1024);
}

TEST(ScenarioTest, MixedLengthsIsLongTailedAndTagged) {
  auto s = MakeScenario(Options("mixed-lengths", 2048));
  ASSERT_TRUE(s.ok());
  std::vector<int> prompts;
  int n_short = 0;
  for (int i = 0; i < 400; ++i) {
    auto r = (*s)->Session(i).at(0);
    prompts.push_back(r.approx_prompt_tokens);
    n_short += r.tag == "short";
    EXPECT_LE(r.approx_prompt_tokens + r.max_tokens, 2048);
  }
  std::sort(prompts.begin(), prompts.end());
  const int median = prompts[200];
  EXPECT_GT(prompts[396], 3 * median);  // the tail reaches far past the median
  EXPECT_GT(n_short, 120);
  EXPECT_LT(n_short, 280);
}

TEST(ScenarioTest, LongGenerationFillsTheContextWithOutput) {
  auto s = MakeScenario(Options("long-generation", 512));
  ASSERT_TRUE(s.ok());
  const ResolvedLengths& l = (*s)->lengths();
  EXPECT_GT(l.max_tokens, 2 * (l.system_prompt_tokens + l.prompt_tokens));
  EXPECT_LE(l.system_prompt_tokens + l.prompt_tokens + l.max_tokens, 512);
}

TEST(ScenarioTest, MultiTenantUsesOneKeyAndSystemPromptPerTenant) {
  ScenarioOptions o = Options("multi-tenant", 1024);
  o.tenants = 3;
  o.api_keys = {"key-a"};
  auto s = MakeScenario(o);
  ASSERT_TRUE(s.ok());
  std::map<std::string, std::set<std::string>> systems_by_key;
  for (int i = 0; i < 60; ++i) {
    auto r = (*s)->Session(i).at(0);
    systems_by_key[r.api_key].insert(r.messages[0].content);
  }
  ASSERT_EQ(systems_by_key.size(), 3u);
  EXPECT_TRUE(systems_by_key.count("key-a"));
  EXPECT_TRUE(systems_by_key.count("sk-tenant-2"));
  for (const auto& [key, systems] : systems_by_key) EXPECT_EQ(systems.size(), 1u) << key;
}

}  // namespace
}  // namespace kvs::loadgen
