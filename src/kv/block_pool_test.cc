#include "kv/block_pool.h"

#include <gtest/gtest.h>

#include <vector>

namespace kvs {
namespace {

BlockHash HashOf(uint8_t tag) {
  BlockHash h;
  h.bytes[0] = tag;
  h.bytes[1] = 0x5a;
  return h;
}

std::vector<int32_t> FreeOrder(const BlockPool& pool) {
  std::vector<int32_t> out;
  const FreeBlockList& l = pool.free_list();
  for (int32_t b = l.front(); b != FreeBlockList::kNone; b = l.Next(b)) out.push_back(b);
  return out;
}

TEST(BlockPoolTest, ReferenceCounts) {
  BlockPool pool(3);
  EXPECT_EQ(pool.n_free(), 3);
  const int32_t b = pool.Allocate();
  EXPECT_EQ(pool.ref_count(b), 1);
  pool.Acquire(b);
  EXPECT_EQ(pool.ref_count(b), 2);
  EXPECT_EQ(pool.n_free(), 2);
  pool.Release(b);
  EXPECT_EQ(pool.ref_count(b), 1);
  EXPECT_FALSE(pool.free_list().Contains(b));
  pool.Release(b);
  EXPECT_EQ(pool.ref_count(b), 0);
  EXPECT_TRUE(pool.free_list().Contains(b));
  EXPECT_EQ(pool.n_free(), 3);
  pool.CheckInvariants();
}

TEST(BlockPoolTest, ExhaustionLeavesNothingFree) {
  BlockPool pool(2);
  pool.Allocate();
  pool.Allocate();
  EXPECT_EQ(pool.n_free(), 0);
  pool.CheckInvariants();
}

// Cached blocks are reused least recently freed first; uncached free blocks
// are reused before any cached one.
TEST(BlockPoolTest, LruOrder) {
  BlockPool pool(4);
  std::vector<int32_t> b;
  for (int i = 0; i < 4; ++i) b.push_back(pool.Allocate());
  ASSERT_TRUE(pool.Register(b[0], HashOf(0)));
  ASSERT_TRUE(pool.Register(b[1], HashOf(1)));
  ASSERT_TRUE(pool.Register(b[2], HashOf(2)));
  pool.Release(b[1]);
  pool.Release(b[0]);
  pool.Release(b[3]);  // uncached: goes to the front
  pool.Release(b[2]);
  EXPECT_EQ(FreeOrder(pool), (std::vector<int32_t>{b[3], b[1], b[0], b[2]}));
  EXPECT_EQ(pool.n_cached_free(), 3);
  pool.CheckInvariants();
  EXPECT_EQ(pool.Allocate(), b[3]);
  EXPECT_EQ(pool.n_evictions(), 0);
  EXPECT_EQ(pool.Allocate(), b[1]);
  EXPECT_EQ(pool.n_evictions(), 1);
  pool.CheckInvariants();
}

TEST(BlockPoolTest, LazyEvictionAndRevival) {
  BlockPool pool(2);
  const int32_t a = pool.Allocate();
  const int32_t c = pool.Allocate();
  ASSERT_TRUE(pool.Register(a, HashOf(7)));
  pool.Release(a);
  // Free but still findable: nothing is evicted until the block is reused.
  EXPECT_EQ(pool.FindCached(HashOf(7)), a);
  EXPECT_TRUE(pool.is_cached(a));
  EXPECT_EQ(pool.n_cached_free(), 1);
  // Revive: a lookup takes a reference; the block leaves the free list.
  pool.Acquire(a);
  EXPECT_EQ(pool.ref_count(a), 1);
  EXPECT_EQ(pool.n_cached_free(), 0);
  EXPECT_EQ(pool.n_free(), 0);
  pool.Release(a);
  pool.Release(c);
  pool.CheckInvariants();
  // c is uncached, so it is reused first; then a is evicted and loses its hash.
  EXPECT_EQ(pool.Allocate(), c);
  EXPECT_EQ(pool.FindCached(HashOf(7)), a);
  EXPECT_EQ(pool.Allocate(), a);
  EXPECT_EQ(pool.FindCached(HashOf(7)), BlockPool::kNoBlock);
  EXPECT_FALSE(pool.is_cached(a));
  EXPECT_EQ(pool.n_evictions(), 1);
  pool.CheckInvariants();
}

TEST(BlockPoolTest, DuplicateHashKeepsExistingEntry) {
  BlockPool pool(2);
  const int32_t a = pool.Allocate();
  const int32_t b = pool.Allocate();
  EXPECT_TRUE(pool.Register(a, HashOf(1)));
  EXPECT_FALSE(pool.Register(b, HashOf(1)));
  EXPECT_EQ(pool.FindCached(HashOf(1)), a);
  EXPECT_FALSE(pool.is_cached(b));
  pool.CheckInvariants();
}

TEST(BlockPoolDeathTest, ReleaseOfFreeBlockAborts) {
  BlockPool pool(1);
  EXPECT_DEATH(pool.Release(0), "release of free block");
}

}  // namespace
}  // namespace kvs
