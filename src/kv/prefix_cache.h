// PrefixCache: the map from a full block's hash to the block that holds it.
//
// A fixed-capacity open-addressing table (linear probing, backward-shift
// deletion, no tombstones). Why not std::unordered_map: every insert would
// allocate a node, and blocks become full on the decode hot path. Each block
// carries at most one hash, so the table never holds more than n_blocks
// entries; the capacity is a power of two >= 2 * n_blocks, which keeps the
// load factor <= 0.5 and probe runs short.
//
// Invariants: at most one entry per hash; size() <= max_entries.
// Ownership: owned by BlockPool. Thread-safety: none (engine thread only).
#pragma once

#include <cstdint>
#include <vector>

#include "kv/block_hash.h"

namespace kvs {

class PrefixCache {
 public:
  static constexpr int32_t kNoBlock = -1;

  // REQUIRES: max_entries >= 0.
  explicit PrefixCache(int max_entries);

  // The block registered under hash, or kNoBlock.
  int32_t Find(const BlockHash& hash) const;

  // Registers block under hash. Returns false, changing nothing, when hash is
  // already present (the existing entry wins). REQUIRES: size() < max_entries.
  bool Insert(const BlockHash& hash, int32_t block);

  // Removes hash's entry if it names block. Returns whether it did.
  bool Erase(const BlockHash& hash, int32_t block);

  int size() const { return size_; }

  // Calls fn(hash, block) on every entry, for invariant checks.
  template <typename Fn>
  void ForEach(Fn&& fn) const {
    for (const Slot& s : slots_) {
      if (s.block != kNoBlock) fn(s.hash, s.block);
    }
  }

 private:
  struct Slot {
    BlockHash hash;
    int32_t block = kNoBlock;
  };

  size_t Home(const BlockHash& hash) const { return hash.Low64() & mask_; }
  // Index of hash's slot, or of the empty slot where it would go.
  size_t Probe(const BlockHash& hash) const;

  std::vector<Slot> slots_;  // [capacity], capacity a power of two
  size_t mask_;              // capacity - 1
  int max_entries_;
  int size_ = 0;
};

}  // namespace kvs
