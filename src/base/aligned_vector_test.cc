#include "base/aligned_vector.h"

#include <gtest/gtest.h>

#include <cstdint>

namespace kvs {
namespace {

bool OnCacheLine(const void* p) { return reinterpret_cast<uintptr_t>(p) % kCacheLine == 0; }

// On glibc a plain std::vector of these sizes started 16, 32 or 48 bytes
// into a line (once, by chance, at 0); the aligned one must start at 0,
// after growth too.
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
