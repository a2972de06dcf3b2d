#include "kv/free_block_list.h"

#include <gtest/gtest.h>

#include <vector>

namespace kvs {
namespace {

std::vector<int32_t> Order(const FreeBlockList& l) {
  std::vector<int32_t> out;
  for (int32_t b = l.front(); b != FreeBlockList::kNone; b = l.Next(b)) out.push_back(b);
  return out;
}

TEST(FreeBlockListTest, PushPopOrder) {
  FreeBlockList l(6);
  EXPECT_TRUE(l.empty());
  l.PushBack(3);
  l.PushBack(1);
  l.PushFront(5);
  EXPECT_EQ(Order(l), (std::vector<int32_t>{5, 3, 1}));
  EXPECT_EQ(l.back(), 1);
  EXPECT_EQ(l.PopFront(), 5);
  EXPECT_EQ(l.PopFront(), 3);
  EXPECT_EQ(l.size(), 1);
  EXPECT_FALSE(l.Contains(3));
  EXPECT_TRUE(l.Contains(1));
}

TEST(FreeBlockListTest, RemoveFromMiddleAndEnds) {
  FreeBlockList l(5);
  for (int32_t b = 0; b < 5; ++b) l.PushBack(b);
  l.Remove(2);
  EXPECT_EQ(Order(l), (std::vector<int32_t>{0, 1, 3, 4}));
  l.Remove(0);
  l.Remove(4);
  EXPECT_EQ(Order(l), (std::vector<int32_t>{1, 3}));
  EXPECT_EQ(l.front(), 1);
  EXPECT_EQ(l.back(), 3);
  l.Remove(1);
  l.Remove(3);
  EXPECT_TRUE(l.empty());
  EXPECT_EQ(l.front(), FreeBlockList::kNone);
  EXPECT_EQ(l.back(), FreeBlockList::kNone);
  l.PushBack(2);  // reusable after emptying
  EXPECT_EQ(Order(l), (std::vector<int32_t>{2}));
}

TEST(FreeBlockListDeathTest, DoublePushAborts) {
  FreeBlockList l(2);
  l.PushBack(0);
  EXPECT_DEATH(l.PushBack(0), "pushed twice");
}

}  // namespace
}  // namespace kvs
