#include "kv/kv_events.h"

#include <gtest/gtest.h>

#include <random>
#include <set>
#include <string>
#include <vector>

#include "kv/kv_cache_manager.h"

namespace kvs {
namespace {

using HashSet = std::set<std::array<uint8_t, 32>>;

HashSet Cached(const KvCacheManager& kv) {
  HashSet out;
  kv.ForEachCachedHash([&](const BlockHash& h) { out.insert(h.bytes); });
  return out;
}

// Applies a log the way a router would: stored hashes in, removed out.
void Apply(const KvEventLog& log, HashSet* set) {
  for (const KvEvent& e : log.events()) {
    switch (e.kind) {
      case KvEventKind::kStored:
        for (const BlockHash& h : log.hashes(e)) EXPECT_TRUE(set->insert(h.bytes).second);
        break;
      case KvEventKind::kRemoved:
        for (const BlockHash& h : log.hashes(e)) EXPECT_EQ(set->erase(h.bytes), 1u);
        break;
      case KvEventKind::kAllCleared:
        set->clear();
        break;
    }
  }
}

TEST(KvEventLogTest, ChainOfBlocksIsOneStoredEventWithItsTokens) {
  KvCacheManager kv({.n_blocks = 8, .block_size = 4});
  KvEventLog log;
  kv.SetEventLog(&log);
  const std::vector<TokenId> prompt = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
  ASSERT_EQ(kv.LookupPrefix(1, prompt, ""), 0);
  ASSERT_TRUE(kv.AllocateSlots(1, 10));
  kv.CommitTokens(1, prompt, 10, "");
  ASSERT_EQ(log.events().size(), 1u);
  const KvEvent& e = log.events()[0];
  EXPECT_EQ(e.kind, KvEventKind::kStored);
  EXPECT_FALSE(e.has_parent);
  EXPECT_EQ(log.block_size, 4);
  ASSERT_EQ(log.hashes(e).size(), 2u);  // two full blocks; the third is partial
  const std::vector<TokenId> want = {1, 2, 3, 4, 5, 6, 7, 8};
  EXPECT_EQ(std::vector<TokenId>(log.tokens(e).begin(), log.tokens(e).end()), want);
  // Block hashes are the manager's own chain.
  BlockHasher hasher;
  const BlockHash h0 = hasher.Hash(nullptr, std::span(prompt).subspan(0, 4), "");
  EXPECT_TRUE(log.hashes(e)[0] == h0);
  EXPECT_TRUE(log.hashes(e)[1] == hasher.Hash(&h0, std::span(prompt).subspan(4, 4), ""));

  // Two more tokens fill block 3: a new event whose parent is block 2.
  const BlockHash second = log.hashes(e)[1];
  log.Clear();
  const std::vector<TokenId> more = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
  ASSERT_TRUE(kv.AllocateSlots(1, 12));
  kv.CommitTokens(1, more, 12, "");
  ASSERT_EQ(log.events().size(), 1u);
  EXPECT_TRUE(log.events()[0].has_parent);
  EXPECT_TRUE(log.events()[0].parent == second);
}

TEST(KvEventLogTest, RandomWorkloadReplaysToTheCachedSet) {
  // Tiny pool, shared prefixes, two salts: stores, hits, evictions.
  std::mt19937 rng(7);
  KvCacheManager kv({.n_blocks = 12, .block_size = 4});
  KvEventLog log;
  kv.SetEventLog(&log);
  HashSet router;
  int n_removed = 0;
  for (int round = 0; round < 300; ++round) {
    std::vector<TokenId> prompt;
    const int shared = static_cast<int>(rng() % 3);
    for (int i = 0; i < 8; ++i) prompt.push_back(shared * 100 + i);  // shared prefix
    const int n_extra = static_cast<int>(rng() % 12);
    for (int i = 0; i < n_extra; ++i) prompt.push_back(static_cast<TokenId>(rng() % 50));
    const std::string salt = rng() % 2 ? "tenant-a" : "";
    const SeqId seq = round;
    kv.LookupPrefix(seq, prompt, salt);
    if (!kv.AllocateSlots(seq, static_cast<int>(prompt.size()))) {
      kv.Free(seq);
      continue;
    }
    kv.CommitTokens(seq, prompt, static_cast<int>(prompt.size()), salt);
    kv.Free(seq);
    for (const KvEvent& e : log.events()) n_removed += e.kind == KvEventKind::kRemoved;
    Apply(log, &router);
    log.Clear();
    ASSERT_EQ(router, Cached(kv)) << "after round " << round;
  }
  EXPECT_GT(n_removed, 10);  // the pool is small enough to evict
  EXPECT_GT(kv.Stats().prefix_hit_tokens, 0);
}

TEST(KvEventLogTest, ConsecutiveRemovalsMergeAndAllClearedResets) {
  KvEventLog log;
  BlockHash a, b;
  a.bytes[0] = 1;
  b.bytes[0] = 2;
  log.AddRemoved(a);
  log.AddRemoved(b);
  log.AddAllCleared();
  log.AddRemoved(a);
  ASSERT_EQ(log.events().size(), 3u);
  EXPECT_EQ(log.hashes(log.events()[0]).size(), 2u);
  EXPECT_EQ(log.events()[1].kind, KvEventKind::kAllCleared);
  EXPECT_EQ(log.hashes(log.events()[2]).size(), 1u);
  log.Clear();
  EXPECT_TRUE(log.empty());
}

}  // namespace
}  // namespace kvs
