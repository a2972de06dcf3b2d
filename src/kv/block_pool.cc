#include "kv/block_pool.h"

#include "base/check.h"

namespace kvs {

BlockPool::BlockPool(int n_blocks)
    : ref_counts_(n_blocks, 0),
      hashes_(n_blocks),
      cached_(n_blocks, 0),
      free_(n_blocks),
      cache_(n_blocks) {
  // Ascending ids at the front: the first allocations get blocks 0, 1, ...
  for (int32_t b = 0; b < n_blocks; ++b) free_.PushBack(b);
}

int32_t BlockPool::Allocate() {
  const int32_t block = free_.PopFront();
  if (cached_[block]) {
    // Lazy eviction: the hash goes only now that the contents will change.
    KVS_CHECK(cache_.Erase(hashes_[block], block)) << "cached block " << block << " not in map";
    if (event_log_ != nullptr) event_log_->AddRemoved(hashes_[block]);
    cached_[block] = 0;
    --n_cached_free_;
    ++n_evictions_;
  }
  ref_counts_[block] = 1;
  return block;
}

void BlockPool::Acquire(int32_t block) {
  if (ref_counts_[block]++ == 0) {
    free_.Remove(block);
    if (cached_[block]) --n_cached_free_;
  }
}

void BlockPool::Release(int32_t block) {
  KVS_CHECK_GE(ref_counts_[block], 1) << "release of free block " << block;
  if (--ref_counts_[block] > 0) return;
  if (cached_[block]) {
    free_.PushBack(block);
    ++n_cached_free_;
  } else {
    free_.PushFront(block);
  }
}

bool BlockPool::Register(int32_t block, const BlockHash& hash) {
  KVS_CHECK_GE(ref_counts_[block], 1) << "registering free block " << block;
  KVS_CHECK(!cached_[block]) << "block " << block << " registered twice";
  if (!cache_.Insert(hash, block)) return false;
  hashes_[block] = hash;
  cached_[block] = 1;
  return true;
}

void BlockPool::CheckInvariants() const {
  int n_in_list = 0;
  int32_t prev = FreeBlockList::kNone;
  for (int32_t b = free_.front(); b != FreeBlockList::kNone; b = free_.Next(b)) {
    KVS_CHECK(free_.Contains(b)) << "block " << b << " linked but not marked in list";
    KVS_CHECK_LE(++n_in_list, n_blocks()) << "free list has a cycle";
    prev = b;
  }
  KVS_CHECK_EQ(prev, free_.back()) << "free list tail";
  KVS_CHECK_EQ(n_in_list, free_.size()) << "free list size";
  int n_cached_free = 0;
  int n_cached = 0;
  for (int32_t b = 0; b < n_blocks(); ++b) {
    KVS_CHECK_GE(ref_counts_[b], 0) << "negative ref count on block " << b;
    KVS_CHECK_EQ(ref_counts_[b] == 0, free_.Contains(b)) << "block " << b << " free state";
    if (cached_[b]) {
      ++n_cached;
      if (ref_counts_[b] == 0) ++n_cached_free;
      KVS_CHECK_EQ(cache_.Find(hashes_[b]), b) << "cached block's hash maps elsewhere";
    }
  }
  KVS_CHECK_EQ(n_cached, cache_.size()) << "prefix cache entries without a hashed block";
  KVS_CHECK_EQ(n_cached_free, n_cached_free_) << "cached-free gauge";
  cache_.ForEach([&](const BlockHash& h, int32_t b) {
    KVS_CHECK(b >= 0 && b < n_blocks() && cached_[b] && hashes_[b] == h)
        << "prefix cache entry for block " << b << " does not match the block";
  });
}

}  // namespace kvs
