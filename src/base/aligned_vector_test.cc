#include "base/aligned_vector.h"

#include <gtest/gtest.h>

#include <cstdint>

namespace kvs {
namespace {

bool OnCacheLine(const void* p) { return reinterpret_cast<uintptr_t>(p) % kCacheLine == 0; }

// std::vector<uint8_t> of these sizes starts 16 bytes into a line on glibc
// (malloc's header); the aligned one must not, after growth either.
TEST(AlignedVectorTest, StorageStartsOnACacheLine) {
  for (size_t n : {1, 3, 100, 4096, 200000, 3000000}) {
    AlignedVector<uint8_t> bytes(n);
    AlignedVector<float> floats(n);
    EXPECT_TRUE(OnCacheLine(bytes.data())) << n;
    EXPECT_TRUE(OnCacheLine(floats.data())) << n;
    bytes.resize(3 * n + 5);
    floats.resize(3 * n + 5);
    EXPECT_TRUE(OnCacheLine(bytes.data())) << n;
    EXPECT_TRUE(OnCacheLine(floats.data())) << n;
  }
}

TEST(AlignedVectorTest, KeepsContentsAcrossGrowth) {
  AlignedVector<int> v;
  for (int i = 0; i < 10000; ++i) v.push_back(i * 7);
  for (int i = 0; i < 10000; ++i) ASSERT_EQ(v[i], i * 7);
}

}  // namespace
}  // namespace kvs
