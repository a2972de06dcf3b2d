#include "kv/prefix_cache.h"

#include <gtest/gtest.h>

#include <map>
#include <random>

namespace kvs {
namespace {

// A hash whose table index is chosen by the test: forces probe collisions.
BlockHash MakeHash(uint64_t low, uint8_t tag) {
  BlockHash h;
  std::memcpy(h.bytes.data(), &low, sizeof(low));
  h.bytes[31] = tag;
  return h;
}

TEST(PrefixCacheTest, InsertFindErase) {
  PrefixCache cache(8);
  const BlockHash a = MakeHash(1, 0), b = MakeHash(2, 0);
  EXPECT_EQ(cache.Find(a), PrefixCache::kNoBlock);
  EXPECT_TRUE(cache.Insert(a, 5));
  EXPECT_TRUE(cache.Insert(b, 6));
  EXPECT_EQ(cache.Find(a), 5);
  EXPECT_EQ(cache.Find(b), 6);
  EXPECT_EQ(cache.size(), 2);
  EXPECT_FALSE(cache.Erase(a, 6));  // entry names another block
  EXPECT_TRUE(cache.Erase(a, 5));
  EXPECT_EQ(cache.Find(a), PrefixCache::kNoBlock);
  EXPECT_EQ(cache.Find(b), 6);
  EXPECT_EQ(cache.size(), 1);
}

TEST(PrefixCacheTest, ExistingEntryWins) {
  PrefixCache cache(4);
  const BlockHash a = MakeHash(7, 0);
  EXPECT_TRUE(cache.Insert(a, 1));
  EXPECT_FALSE(cache.Insert(a, 2));
  EXPECT_EQ(cache.Find(a), 1);
  EXPECT_EQ(cache.size(), 1);
}

// Entries sharing a home slot, erased from the middle of the probe run, must
// all stay findable (backward-shift deletion).
TEST(PrefixCacheTest, EraseInsideProbeRun) {
  PrefixCache cache(8);  // capacity 16
  for (uint8_t i = 0; i < 5; ++i) ASSERT_TRUE(cache.Insert(MakeHash(3, i), i));
  ASSERT_TRUE(cache.Insert(MakeHash(4, 0), 10));  // lands after the run
  ASSERT_TRUE(cache.Erase(MakeHash(3, 1), 1));
  ASSERT_TRUE(cache.Erase(MakeHash(3, 3), 3));
  EXPECT_EQ(cache.Find(MakeHash(3, 0)), 0);
  EXPECT_EQ(cache.Find(MakeHash(3, 2)), 2);
  EXPECT_EQ(cache.Find(MakeHash(3, 4)), 4);
  EXPECT_EQ(cache.Find(MakeHash(4, 0)), 10);
  EXPECT_EQ(cache.Find(MakeHash(3, 1)), PrefixCache::kNoBlock);
}

// Random operations against std::map, with few home slots so that runs wrap
// around the end of the table.
TEST(PrefixCacheTest, MatchesReferenceMap) {
  constexpr int kMax = 32;
  PrefixCache cache(kMax);
  std::map<std::pair<uint64_t, uint8_t>, int32_t> ref;
  std::mt19937 rng(42);
  for (int step = 0; step < 20000; ++step) {
    const uint64_t low = rng() % 8 + 60;  // homes near the end of a 64-slot table
    const uint8_t tag = rng() % 8;
    const BlockHash h = MakeHash(low, tag);
    const auto key = std::make_pair(low, tag);
    if (rng() % 2 == 0 && static_cast<int>(ref.size()) < kMax) {
      const int32_t block = static_cast<int32_t>(rng() % 1000);
      const bool fresh = ref.count(key) == 0;
      EXPECT_EQ(cache.Insert(h, block), fresh);
      if (fresh) ref[key] = block;
    } else if (ref.count(key) != 0) {
      EXPECT_TRUE(cache.Erase(h, ref[key]));
      ref.erase(key);
    }
    ASSERT_EQ(cache.size(), static_cast<int>(ref.size()));
    for (const auto& [k, v] : ref) ASSERT_EQ(cache.Find(MakeHash(k.first, k.second)), v);
  }
}

}  // namespace
}  // namespace kvs
