#include "kv/free_block_list.h"

#include "base/check.h"

namespace kvs {

FreeBlockList::FreeBlockList(int n_blocks) : links_(n_blocks) {}

void FreeBlockList::PushBack(int32_t block) {
  Link& l = links_[block];
  KVS_CHECK(!l.in_list) << "block " << block << " pushed twice onto the free list";
  l = Link{tail_, kNone, true};
  if (tail_ != kNone) {
    links_[tail_].next = block;
  } else {
    head_ = block;
  }
  tail_ = block;
  ++size_;
}

void FreeBlockList::PushFront(int32_t block) {
  Link& l = links_[block];
  KVS_CHECK(!l.in_list) << "block " << block << " pushed twice onto the free list";
  l = Link{kNone, head_, true};
  if (head_ != kNone) {
    links_[head_].prev = block;
  } else {
    tail_ = block;
  }
  head_ = block;
  ++size_;
}

int32_t FreeBlockList::PopFront() {
  KVS_CHECK(head_ != kNone) << "PopFront on an empty free list";
  const int32_t block = head_;
  Remove(block);
  return block;
}

void FreeBlockList::Remove(int32_t block) {
  Link& l = links_[block];
  KVS_CHECK(l.in_list) << "block " << block << " is not on the free list";
  if (l.prev != kNone) {
    links_[l.prev].next = l.next;
  } else {
    head_ = l.next;
  }
  if (l.next != kNone) {
    links_[l.next].prev = l.prev;
  } else {
    tail_ = l.prev;
  }
  l = Link{};
  --size_;
}

}  // namespace kvs
