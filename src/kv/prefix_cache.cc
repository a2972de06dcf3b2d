#include "kv/prefix_cache.h"

#include "base/check.h"

namespace kvs {

PrefixCache::PrefixCache(int max_entries) : max_entries_(max_entries) {
  KVS_CHECK_GE(max_entries, 0) << "negative prefix cache size";
  size_t capacity = 4;
  while (capacity < 2 * static_cast<size_t>(max_entries)) capacity *= 2;
  slots_.resize(capacity);
  mask_ = capacity - 1;
}

size_t PrefixCache::Probe(const BlockHash& hash) const {
  // Terminates: the load factor is <= 0.5, so an empty slot exists.
  size_t i = Home(hash);
  while (slots_[i].block != kNoBlock && !(slots_[i].hash == hash)) i = (i + 1) & mask_;
  return i;
}

int32_t PrefixCache::Find(const BlockHash& hash) const { return slots_[Probe(hash)].block; }

bool PrefixCache::Insert(const BlockHash& hash, int32_t block) {
  KVS_CHECK(block != kNoBlock) << "inserting the no-block marker";
  const size_t i = Probe(hash);
  if (slots_[i].block != kNoBlock) return false;
  KVS_CHECK_LT(size_, max_entries_) << "prefix cache over capacity: more hashes than blocks";
  slots_[i].hash = hash;
  slots_[i].block = block;
  ++size_;
  return true;
}

bool PrefixCache::Erase(const BlockHash& hash, int32_t block) {
  size_t i = Probe(hash);
  if (slots_[i].block != block || block == kNoBlock) return false;
  // Backward-shift deletion: pull later members of the probe run into the
  // hole when the hole lies between their home and their current slot, so
  // that every entry stays reachable from its home without tombstones.
  size_t j = i;
  for (;;) {
    j = (j + 1) & mask_;
    if (slots_[j].block == kNoBlock) break;
    const size_t home = Home(slots_[j].hash);
    // Cyclic distance from home: the entry may move to i iff i lies on the
    // path home..j.
    if (((j - home) & mask_) >= ((j - i) & mask_)) {
      slots_[i] = slots_[j];
      i = j;
    }
  }
  slots_[i].block = kNoBlock;
  --size_;
  return true;
}

}  // namespace kvs
