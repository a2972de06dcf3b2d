// Engine::FillKvSnapshot, synchronously over the fake runner.
#include <gtest/gtest.h>

#include <algorithm>

#include "engine/testing_engine_harness.h"

namespace kvs {
namespace {

int Count(const KvSnapshot& s, KvBlockState st) {
  return static_cast<int>(std::count(s.states.begin(), s.states.end(), static_cast<uint8_t>(st)));
}

TEST(EngineSnapshotTest, TwoTenantsSharingNothingAndOneSharingAPrefix) {
  testing::FakeEngineOptions o;
  o.n_blocks = 64;
  testing::EngineHarness h(o);
  GenerationRequest a = testing::Greedy(testing::RandomPrompt(17, 1), 8);  // 4 full blocks + 1
  a.cache_salt = "alice";
  GenerationRequest a2 = a;
  GenerationRequest b = a;
  b.cache_salt = "bob";  // same tokens, another tenant: shares nothing with alice
  h.Submit(std::move(a));
  h.Submit(std::move(a2));
  h.Submit(std::move(b));
  // Two steps: all three are running and hold their blocks.
  ASSERT_TRUE(h.engine().Step().ok());
  ASSERT_TRUE(h.engine().Step().ok());
  KvSnapshot s;
  h.engine().FillKvSnapshot(&s);
  ASSERT_EQ(s.states.size(), 64u);
  EXPECT_EQ(s.stats.requests_running, 3);
  int alice = 0, bob = 0;
  for (size_t i = 0; i < s.states.size(); ++i) {
    const bool held = s.states[i] >= static_cast<uint8_t>(KvBlockState::kInUse);
    EXPECT_EQ(held, s.tenants[i] != KvSnapshot::kNoTenant) << i;
    alice += s.tenants[i] == TenantTag("alice");
    bob += s.tenants[i] == TenantTag("bob");
    if (s.tenants[i] == TenantTag("bob")) {
      EXPECT_EQ(s.states[i], static_cast<uint8_t>(KvBlockState::kInUse)) << "bob shares nothing";
    }
  }
  EXPECT_GT(Count(s, KvBlockState::kShared), 0) << "alice's two requests share her prompt";
  EXPECT_GT(alice, 0);
  EXPECT_GT(bob, 0);
  EXPECT_EQ(alice + bob, Count(s, KvBlockState::kInUse) + Count(s, KvBlockState::kShared));
  h.RunUntilIdle();
  h.engine().FillKvSnapshot(&s);
  EXPECT_EQ(Count(s, KvBlockState::kInUse) + Count(s, KvBlockState::kShared), 0);
  EXPECT_GT(Count(s, KvBlockState::kCached), 0);
  EXPECT_TRUE(std::all_of(s.tenants.begin(), s.tenants.end(),
                          [](uint32_t t) { return t == KvSnapshot::kNoTenant; }));
}

}  // namespace
}  // namespace kvs
