// FreeBlockList: the intrusive doubly linked LRU list of free KV blocks.
//
// Links live in arrays indexed by block id (the list is "intrusive" in the
// block table sense: no nodes are allocated), so push at either end, pop from
// the front and removal from the middle are all O(1) and allocation-free.
// The front is the next block handed out; BlockPool pushes blocks that still
// hold a cached prefix at the back, so they are reused last (least recently
// freed first), and blocks with nothing worth keeping at the front.
//
// Invariants: a block is in the list at most once; size() equals the number
// of blocks for which Contains() is true; following next links from front()
// visits exactly size() blocks and ends at back().
// Thread-safety: none (engine thread only).
#pragma once

#include <cstdint>
#include <vector>

namespace kvs {

class FreeBlockList {
 public:
  static constexpr int32_t kNone = -1;

  // An empty list over block ids [0, n_blocks).
  explicit FreeBlockList(int n_blocks);

  bool empty() const { return size_ == 0; }
  int size() const { return size_; }
  int32_t front() const { return head_; }
  int32_t back() const { return tail_; }
  // The block after `block` towards the back, or kNone. REQUIRES: Contains(block).
  int32_t Next(int32_t block) const { return links_[block].next; }
  bool Contains(int32_t block) const { return links_[block].in_list; }

  // REQUIRES: !Contains(block).
  void PushBack(int32_t block);
  void PushFront(int32_t block);
  // REQUIRES: !empty().
  int32_t PopFront();
  // REQUIRES: Contains(block).
  void Remove(int32_t block);

 private:
  struct Link {
    int32_t prev = kNone;
    int32_t next = kNone;
    bool in_list = false;
  };
  std::vector<Link> links_;  // [n_blocks]
  int32_t head_ = kNone;
  int32_t tail_ = kNone;
  int size_ = 0;
};

}  // namespace kvs
