// Model-free tests of KvCacheManager's rules, one rule per test.
#include "kv/kv_cache_manager.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>
#include <vector>

namespace kvs {
namespace {

constexpr int kBlock = 4;  // small blocks keep the token lists readable

KvManagerConfig Config(int n_blocks, bool caching = true) {
  KvManagerConfig c;
  c.n_blocks = n_blocks;
  c.block_size = kBlock;
  c.enable_prefix_caching = caching;
  return c;
}

std::vector<TokenId> Range(int n, TokenId first = 100) {
  std::vector<TokenId> t(n);
  std::iota(t.begin(), t.end(), first);
  return t;
}

// Runs a whole prompt through the manager as the scheduler would: lookup,
// allocate the rest, commit. Returns the number of cache-hit tokens.
int Prefill(KvCacheManager& m, SeqId seq, const std::vector<TokenId>& tokens,
            const std::string& salt = "") {
  const int hit = m.LookupPrefix(seq, tokens, salt);
  EXPECT_TRUE(m.AllocateSlots(seq, static_cast<int>(tokens.size())));
  m.CommitTokens(seq, tokens, static_cast<int>(tokens.size()), salt);
  m.CheckInvariants();
  return hit;
}

std::vector<BlockId> Table(const KvCacheManager& m, SeqId seq) {
  auto t = m.BlockTable(seq);
  return {t.begin(), t.end()};
}

TEST(KvCacheManagerTest, AllocatesCeilOfTokensOverBlockSize) {
  KvCacheManager m(Config(8));
  EXPECT_EQ(m.BlocksNeeded(1, 9), 3);
  ASSERT_TRUE(m.AllocateSlots(1, 9));
  EXPECT_EQ(m.BlockTable(1).size(), 3u);
  EXPECT_EQ(m.n_free_blocks(), 5);
  EXPECT_EQ(m.BlocksNeeded(1, 12), 0);
  EXPECT_EQ(m.BlocksNeeded(1, 13), 1);
  m.CheckInvariants();
}

TEST(KvCacheManagerTest, SharedPrefixTakesReferences) {
  KvCacheManager m(Config(16));
  const auto prompt = Range(10);  // 2 full blocks + 2 tokens
  EXPECT_EQ(Prefill(m, 1, prompt), 0);
  EXPECT_EQ(Prefill(m, 2, prompt), 8);
  const auto t1 = Table(m, 1), t2 = Table(m, 2);
  EXPECT_EQ(t1[0], t2[0]);
  EXPECT_EQ(t1[1], t2[1]);
  EXPECT_NE(t1[2], t2[2]);  // partial block is never shared through the cache
  EXPECT_EQ(m.BlockRefCount(t1[0]), 2);
  EXPECT_EQ(m.BlockRefCount(t1[2]), 1);
  m.Free(1);
  EXPECT_EQ(m.BlockRefCount(t1[0]), 1);
  m.Free(2);
  EXPECT_EQ(m.BlockRefCount(t1[0]), 0);
  EXPECT_EQ(m.n_free_blocks(), 16);
  m.CheckInvariants();
}

TEST(KvCacheManagerTest, LongestPrefixLookup) {
  KvCacheManager m(Config(16));
  Prefill(m, 1, Range(16));
  auto other = Range(16);
  other[9] = 7;  // third block (tokens 8..11) differs
  EXPECT_EQ(m.LookupPrefix(2, other, ""), 8);
  // A difference inside the first block: nothing hits, even though later
  // blocks hold the same tokens (their hash covers the whole prefix).
  auto first_differs = Range(16);
  first_differs[0] = 7;
  EXPECT_EQ(m.LookupPrefix(3, first_differs, ""), 0);
  m.CheckInvariants();
}

TEST(KvCacheManagerTest, AllCachedLeavesLastBlockToCompute) {
  KvCacheManager m(Config(16));
  const auto prompt = Range(12);  // exactly 3 full blocks
  Prefill(m, 1, prompt);
  m.Free(1);
  EXPECT_EQ(m.LookupPrefix(2, prompt, ""), 8);  // not 12: the model needs logits
  // One more token: now all 3 cached blocks can be used.
  auto longer = Range(13);
  EXPECT_EQ(m.LookupPrefix(3, longer, ""), 12);
  // Recomputing seq 2's last block yields a hash already in the cache: the
  // existing entry stays and the new block is left unregistered.
  ASSERT_TRUE(m.AllocateSlots(2, 12));
  m.CommitTokens(2, prompt, 12, "");
  EXPECT_FALSE(m.IsBlockCached(Table(m, 2)[2]));
  EXPECT_TRUE(m.IsBlockCached(Table(m, 3)[2]));
  m.CheckInvariants();
  // A prompt of one token never hits.
  EXPECT_EQ(m.LookupPrefix(4, Range(1), ""), 0);
}

TEST(KvCacheManagerTest, LazyEvictionRevivesFreedBlocks) {
  KvCacheManager m(Config(8));
  Prefill(m, 1, Range(9));
  const auto t1 = Table(m, 1);
  m.Free(1);
  KvStats st = m.Stats();
  EXPECT_EQ(st.blocks_used, 0);
  EXPECT_EQ(st.blocks_cached_free, 2);
  EXPECT_EQ(st.evictions, 0);
  EXPECT_EQ(m.LookupPrefix(2, Range(9), ""), 8);
  EXPECT_EQ(Table(m, 2)[0], t1[0]);
  EXPECT_EQ(Table(m, 2)[1], t1[1]);
  EXPECT_EQ(m.Stats().blocks_cached_free, 0);
  m.CheckInvariants();
}

// Free releases tail first, so under memory pressure the most specific
// blocks of a prefix are evicted first and the shared head survives longest.
TEST(KvCacheManagerTest, TailFirstReleaseEvictsMostSpecificFirst) {
  KvCacheManager m(Config(5));
  const auto prompt = Range(13);  // blocks 0..2 full, block 3 partial
  Prefill(m, 1, prompt);
  m.Free(1);
  EXPECT_EQ(m.n_free_blocks(), 5);
  // Each new allocation takes one block: first the never-used one and the
  // uncached partial block, then cached blocks from the tail of the prompt.
  std::vector<int> hits_after;
  for (int n = 1; n <= 5; ++n) {
    ASSERT_TRUE(m.AllocateSlots(50, n * kBlock));
    hits_after.push_back(m.LookupPrefix(60, prompt, ""));
    m.Free(60);
  }
  EXPECT_EQ(hits_after, (std::vector<int>{12, 12, 8, 4, 0}));
  EXPECT_EQ(m.Stats().evictions, 3);
  m.CheckInvariants();
}

TEST(KvCacheManagerTest, SaltIsolatesTenants) {
  KvCacheManager m(Config(16));
  const auto prompt = Range(9);
  Prefill(m, 1, prompt, "tenant-a");
  EXPECT_EQ(m.LookupPrefix(2, prompt, "tenant-a"), 8);  // same salt: hit
  EXPECT_EQ(m.LookupPrefix(3, prompt, "tenant-b"), 0);  // another salt: miss
  EXPECT_EQ(m.LookupPrefix(4, prompt, ""), 0);          // no salt: miss
  // tenant-b computes the same tokens into its own blocks.
  ASSERT_TRUE(m.AllocateSlots(3, 9));
  m.CommitTokens(3, prompt, 9, "tenant-b");
  const auto ta = Table(m, 1), tb = Table(m, 3);
  EXPECT_NE(ta[0], tb[0]);
  EXPECT_TRUE(m.IsBlockCached(tb[0]));
  EXPECT_EQ(m.LookupPrefix(5, prompt, "tenant-b"), 8);
  EXPECT_EQ(Table(m, 5)[0], tb[0]);
  m.CheckInvariants();
}

TEST(KvCacheManagerTest, ExhaustionIsReportedAsNoRoom) {
  KvCacheManager m(Config(3));
  ASSERT_TRUE(m.AllocateSlots(1, 8));
  EXPECT_EQ(m.BlocksNeeded(2, 8), 2);
  EXPECT_FALSE(m.AllocateSlots(2, 8));
  EXPECT_TRUE(m.BlockTable(2).empty());  // nothing taken
  EXPECT_EQ(m.n_free_blocks(), 1);
  EXPECT_FALSE(m.AllocateSlots(1, 13));  // growing an existing seq too
  EXPECT_EQ(m.BlockTable(1).size(), 2u);
  EXPECT_TRUE(m.AllocateSlots(1, 12));
  EXPECT_EQ(m.n_free_blocks(), 0);
  m.CheckInvariants();
}

TEST(KvCacheManagerTest, CopyOnWriteOfSharedPartialBlock) {
  KvCacheManager m(Config(16));
  const auto prompt = Range(6);  // block 0 full, block 1 half full
  Prefill(m, 1, prompt);
  ASSERT_TRUE(m.Fork(1, 2).ok());
  const auto parent = Table(m, 1);
  EXPECT_EQ(Table(m, 2), parent);
  EXPECT_EQ(m.BlockRefCount(parent[1]), 2);
  EXPECT_TRUE(m.TakePendingCopies().empty());

  // The child writes token 6 into block 1: it gets its own copy; the full
  // block 0 stays shared, read only.
  EXPECT_EQ(m.BlocksNeeded(2, 7), 1);
  ASSERT_TRUE(m.AllocateSlots(2, 7));
  const auto child = Table(m, 2);
  EXPECT_EQ(child[0], parent[0]);
  EXPECT_NE(child[1], parent[1]);
  const auto copies = m.TakePendingCopies();
  ASSERT_EQ(copies.size(), 1u);
  EXPECT_EQ(copies[0].src, parent[1]);
  EXPECT_EQ(copies[0].dst, child[1]);
  EXPECT_TRUE(m.TakePendingCopies().empty());
  EXPECT_EQ(m.Stats().cow_copies, 1);

  // The parent now holds its block alone: it writes in place.
  EXPECT_EQ(m.BlocksNeeded(1, 7), 0);
  ASSERT_TRUE(m.AllocateSlots(1, 7));
  EXPECT_EQ(Table(m, 1), parent);
  EXPECT_TRUE(m.TakePendingCopies().empty());
  EXPECT_EQ(m.BlockRefCount(parent[0]), 2);
  m.CheckInvariants();
}

// The scheduler may preempt a sequence after its AllocateSlots in the same
// step; the copy into its now free block must not reach the runner.
TEST(KvCacheManagerTest, FreeDropsPendingCopiesIntoFreedBlocks) {
  KvCacheManager m(Config(16));
  Prefill(m, 1, Range(6));
  ASSERT_TRUE(m.Fork(1, 2).ok());
  ASSERT_TRUE(m.Fork(1, 3).ok());
  ASSERT_TRUE(m.AllocateSlots(2, 7));
  ASSERT_TRUE(m.AllocateSlots(3, 7));
  const BlockId kept = Table(m, 3)[1];
  m.Free(2);
  const auto copies = m.TakePendingCopies();
  ASSERT_EQ(copies.size(), 1u);
  EXPECT_EQ(copies[0].dst, kept);
  m.CheckInvariants();
}

TEST(KvCacheManagerTest, ForkAtBlockBoundaryCopiesNothing) {
  KvCacheManager m(Config(16));
  Prefill(m, 1, Range(8));
  ASSERT_TRUE(m.Fork(1, 2).ok());
  ASSERT_TRUE(m.AllocateSlots(2, 9));
  ASSERT_TRUE(m.AllocateSlots(1, 9));
  EXPECT_TRUE(m.TakePendingCopies().empty());
  EXPECT_NE(Table(m, 1)[2], Table(m, 2)[2]);
  m.CheckInvariants();
}

TEST(KvCacheManagerTest, ForkErrors) {
  KvCacheManager m(Config(4));
  EXPECT_EQ(m.Fork(1, 2).code(), StatusCode::kNotFound);
  ASSERT_TRUE(m.AllocateSlots(1, 4));
  ASSERT_TRUE(m.AllocateSlots(2, 4));
  EXPECT_EQ(m.Fork(1, 2).code(), StatusCode::kFailedPrecondition);
}

TEST(KvCacheManagerTest, StatsCountLookups) {
  KvCacheManager m(Config(16));
  Prefill(m, 1, Range(9));
  Prefill(m, 2, Range(9));
  const KvStats st = m.Stats();
  EXPECT_EQ(st.blocks_total, 16);
  EXPECT_EQ(st.blocks_used, 4);  // 2 shared + 2 partial
  EXPECT_EQ(st.prefix_lookups, 2);
  EXPECT_EQ(st.prefix_queried_tokens, 18);
  EXPECT_EQ(st.prefix_hit_tokens, 8);
  EXPECT_EQ(st.cow_copies, 0);
}

TEST(KvCacheManagerTest, CachingDisabledCountsQueriesButNeverHits) {
  KvCacheManager m(Config(16, /*caching=*/false));
  Prefill(m, 1, Range(9));
  m.Free(1);
  EXPECT_EQ(m.LookupPrefix(2, Range(9), ""), 0);
  const KvStats st = m.Stats();
  EXPECT_EQ(st.prefix_lookups, 2);
  EXPECT_EQ(st.prefix_queried_tokens, 18);
  EXPECT_EQ(st.prefix_hit_tokens, 0);
  EXPECT_EQ(st.blocks_cached_free, 0);
  m.CheckInvariants();
}

TEST(KvCacheManagerTest, DecodeRegistersBlocksAsTheyFill) {
  KvCacheManager m(Config(16));
  auto tokens = Range(3);
  Prefill(m, 1, tokens);
  for (int i = 0; i < 6; ++i) {  // decode to 9 tokens, one at a time
    tokens.push_back(500 + i);
    ASSERT_TRUE(m.AllocateSlots(1, static_cast<int>(tokens.size())));
    m.CommitTokens(1, tokens, static_cast<int>(tokens.size()), "");
    m.CheckInvariants();
  }
  const auto t = Table(m, 1);
  ASSERT_EQ(t.size(), 3u);
  EXPECT_TRUE(m.IsBlockCached(t[0]));
  EXPECT_TRUE(m.IsBlockCached(t[1]));
  EXPECT_FALSE(m.IsBlockCached(t[2]));
  // Generated tokens are part of the prefix too (multi-turn reuse).
  tokens.push_back(1);
  EXPECT_EQ(m.LookupPrefix(2, tokens, ""), 8);
}

TEST(KvCacheManagerDeathTest, LookupOnSeqHoldingBlocksAborts) {
  KvCacheManager m(Config(4));
  ASSERT_TRUE(m.AllocateSlots(1, 4));
  EXPECT_DEATH(m.LookupPrefix(1, Range(5), ""), "Free it first");
}

TEST(KvCacheManagerDeathTest, WriteIntoSharedBlockWithoutAllocateAborts) {
  KvCacheManager m(Config(8));
  const auto prompt = Range(6);
  ASSERT_TRUE(m.AllocateSlots(1, 8));
  m.CommitTokens(1, prompt, 6, "");
  ASSERT_TRUE(m.Fork(1, 2).ok());
  auto more = Range(7);
  EXPECT_DEATH(m.CommitTokens(1, more, 7, ""), "without AllocateSlots");
}

// Memory efficiency: with block size 16, running requests hold at most one
// partly filled block per sequence beyond what their tokens need.
TEST(KvCacheManagerTest, OverheadIsAtMostOnePartialBlockPerSequence) {
  KvManagerConfig c;
  c.n_blocks = 4096;
  c.block_size = 16;
  KvCacheManager m(c);
  constexpr int kSeqs = 64;
  std::vector<std::vector<TokenId>> tokens(kSeqs);
  uint32_t x = 12345;
  auto next = [&x] { return x = x * 1664525u + 1013904223u; };
  for (int s = 0; s < kSeqs; ++s) {
    // Distinct prompts (first token = seq id), ragged lengths, chunked prefill.
    const int len = 1 + static_cast<int>(next() % 300);
    for (int i = 0; i < len; ++i)
      tokens[s].push_back(i == 0 ? s : static_cast<TokenId>(next() % 512));
    int done = m.LookupPrefix(s, tokens[s], "");
    while (done < len) {
      const int n = std::min(len - done, 1 + static_cast<int>(next() % 64));
      ASSERT_TRUE(m.AllocateSlots(s, done + n));
      done += n;
      m.CommitTokens(s, tokens[s], done, "");
    }
  }
  for (int step = 0; step < 100; ++step) {  // decode, some sequences skipping steps
    for (int s = 0; s < kSeqs; ++s) {
      if (next() % 4 == 0) continue;
      tokens[s].push_back(static_cast<TokenId>(next() % 512));
      const int n = static_cast<int>(tokens[s].size());
      ASSERT_TRUE(m.AllocateSlots(s, n));
      m.CommitTokens(s, tokens[s], n, "");
    }
  }
  m.CheckInvariants();
  int64_t needed_slots = 0;
  for (int s = 0; s < kSeqs; ++s) {
    const int64_t n = static_cast<int64_t>(tokens[s].size());
    const int64_t held = static_cast<int64_t>(m.BlockTable(s).size()) * 16;
    EXPECT_GE(held - n, 0);
    EXPECT_LT(held - n, 16) << "seq " << s;
    needed_slots += n;
  }
  const int64_t held_slots = m.Stats().blocks_used * 16;
  EXPECT_LE(held_slots - needed_slots, kSeqs * 15);
  EXPECT_GE(held_slots, needed_slots);
}

}  // namespace
}  // namespace kvs

namespace kvs {
namespace {

// KV efficiency counts each stored token slot once: a prefix shared by two
// sequences is held once, and only a sequence's last block is partly full.
TEST(KvCacheManagerTest, TokensHeldCountsSharedBlocksOnce) {
  KvCacheManager m(Config(16));
  EXPECT_EQ(m.TokensHeld(), 0);
  std::vector<TokenId> a = Range(10);  // 2 full blocks + 2 tokens
  Prefill(m, 1, a);
  EXPECT_EQ(m.TokensHeld(), 10);
  std::vector<TokenId> b = Range(8);  // the same 2 full blocks, then 3 more tokens
  b.push_back(7);
  b.push_back(8);
  b.push_back(9);
  EXPECT_EQ(Prefill(m, 2, b), 8);
  EXPECT_EQ(m.Stats().blocks_used, 4);
  EXPECT_EQ(m.TokensHeld(), 8 + 2 + 3);
  m.Free(1);
  EXPECT_EQ(m.TokensHeld(), 11);
  m.Free(2);
  EXPECT_EQ(m.TokensHeld(), 0);
  EXPECT_EQ(m.TokensHeld(), 0);  // scratch is left zeroed
}

}  // namespace
}  // namespace kvs

namespace kvs {
namespace {

TEST(KvCacheManagerTest, FillBlockStatesTellsFreeCachedInUseAndShared) {
  KvCacheManager m(Config(8));
  const std::vector<TokenId> prompt = Range(9);  // 2 full blocks + 1 partial
  Prefill(m, 1, prompt);
  Prefill(m, 2, prompt);  // shares the 2 full blocks, its own third block
  std::vector<uint8_t> st(8);
  m.FillBlockStates(st);
  auto count = [&](KvBlockState s) {
    return std::count(st.begin(), st.end(), static_cast<uint8_t>(s));
  };
  EXPECT_EQ(count(KvBlockState::kShared), 2);
  EXPECT_EQ(count(KvBlockState::kInUse), 2);
  EXPECT_EQ(count(KvBlockState::kFree), 4);
  m.Free(1);
  m.Free(2);
  m.FillBlockStates(st);
  EXPECT_EQ(count(KvBlockState::kCached), 2);  // the two hashed full blocks stay findable
  EXPECT_EQ(count(KvBlockState::kFree), 6);
}

}  // namespace
}  // namespace kvs
