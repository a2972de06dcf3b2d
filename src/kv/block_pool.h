// BlockPool: every KV block's reference count, cached hash and free-list
// position, plus the prefix cache (hash -> block) over them.
//
// All blocks exist from construction on (ids 0..n_blocks-1); the pool never
// allocates after that. It knows nothing of sequences: KvCacheManager holds
// the references and tells the pool when one is taken or dropped.
//
// Free-list policy. Allocate() takes the front of the LRU free list. A block
// whose count drops to 0 goes to the back if it holds a cached prefix (so it
// stays findable for as long as possible: least recently freed is reused
// first) and to the front if it holds nothing reusable. Eviction is lazy: a
// cached free block keeps its hash until Allocate() hands it out, and a later
// lookup may revive it with Acquire().
//
// Invariants (CheckInvariants):
//  - ref_count(b) == 0  <=>  b is on the free list;
//  - b has a hash  <=>  the prefix cache maps that hash to b;
//  - n_cached_free() == number of free blocks that have a hash.
// Thread-safety: none (engine thread only).
#pragma once

#include <cstdint>
#include <vector>

#include "kv/block_hash.h"
#include "kv/free_block_list.h"
#include "kv/kv_events.h"
#include "kv/prefix_cache.h"

namespace kvs {

class BlockPool {
 public:
  static constexpr int32_t kNoBlock = -1;

  // REQUIRES: n_blocks >= 0.
  explicit BlockPool(int n_blocks);

  int n_blocks() const { return static_cast<int>(ref_counts_.size()); }
  int n_free() const { return free_.size(); }
  int n_cached_free() const { return n_cached_free_; }
  int64_t n_evictions() const { return n_evictions_; }

  int ref_count(int32_t block) const { return ref_counts_[block]; }
  bool is_cached(int32_t block) const { return cached_[block] != 0; }
  // REQUIRES: is_cached(block).
  const BlockHash& hash(int32_t block) const { return hashes_[block]; }
  const FreeBlockList& free_list() const { return free_; }

  // Takes the front free block, drops its hash if it had one (an eviction),
  // and returns it with ref_count 1. REQUIRES: n_free() > 0.
  int32_t Allocate();

  // Takes one more reference on block; a free block leaves the free list.
  void Acquire(int32_t block);

  // Drops one reference. REQUIRES: ref_count(block) >= 1.
  void Release(int32_t block);

  // The block cached under hash, or kNoBlock.
  int32_t FindCached(const BlockHash& hash) const { return cache_.Find(hash); }

  // Makes block findable under hash. Returns false, leaving block unhashed,
  // when another block already holds this hash (same prefix computed twice,
  // e.g. the recomputed last block of a fully cached prompt): the existing
  // entry is kept, so lookups keep reviving one copy and the duplicate is
  // simply reused once freed. REQUIRES: ref_count(block) >= 1, !is_cached(block).
  bool Register(int32_t block, const BlockHash& hash);

  // Evictions are appended to log from now on (nullptr: not recorded).
  // The log is borrowed and must outlive its use here.
  void set_event_log(KvEventLog* log) { event_log_ = log; }

  // Calls fn(block, hash) on every block findable by hash. O(n_blocks).
  template <typename Fn>
  void ForEachCached(Fn&& fn) const {
    for (int32_t b = 0; b < n_blocks(); ++b) {
      if (cached_[b]) fn(b, hashes_[b]);
    }
  }

  // Aborts (KVS_CHECK) if an invariant above is broken. O(n_blocks).
  void CheckInvariants() const;

 private:
  std::vector<int32_t> ref_counts_;  // [n_blocks]
  std::vector<BlockHash> hashes_;    // [n_blocks], meaningful where cached_
  std::vector<uint8_t> cached_;      // [n_blocks], 1 if registered in cache_
  FreeBlockList free_;
  PrefixCache cache_;
  int n_cached_free_ = 0;
  int64_t n_evictions_ = 0;
  KvEventLog* event_log_ = nullptr;
};

}  // namespace kvs
