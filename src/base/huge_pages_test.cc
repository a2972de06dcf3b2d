#include "base/huge_pages.h"

#include <gtest/gtest.h>

#include <cstring>

namespace kvs {
namespace {

TEST(HugePagesTest, AlignedToHugePagesAndWholePagesUsable) {
  for (size_t bytes : {size_t{1}, kHugePageBytes - 1, kHugePageBytes, 3 * kHugePageBytes + 5}) {
    HugePageBuffer buf = AllocateHugePages(bytes, /*zero=*/false);
    ASSERT_NE(buf, nullptr) << bytes;
    EXPECT_EQ(reinterpret_cast<uintptr_t>(buf.get()) % kHugePageBytes, 0u) << bytes;
    // Rounded up to whole huge pages: a partly used last page would be
    // shared with whatever the allocator puts after it.
    const size_t rounded = (bytes + kHugePageBytes - 1) / kHugePageBytes * kHugePageBytes;
    std::memset(buf.get(), 0xAB, rounded);
  }
}

TEST(HugePagesTest, ZeroedWhenAsked) {
  // Whether the allocator hands back fresh or reused memory, it reads zero.
  for (int i = 0; i < 3; ++i) {
    HugePageBuffer buf = AllocateHugePages(kHugePageBytes + 1, /*zero=*/true);
    ASSERT_NE(buf, nullptr);
    for (size_t j = 0; j < 2 * kHugePageBytes; j += 4093) ASSERT_EQ(buf.get()[j], 0) << j;
    std::memset(buf.get(), 0xAB, 2 * kHugePageBytes);
  }
}

TEST(HugePagesTest, ZeroBytesIsNull) { EXPECT_EQ(AllocateHugePages(0, true), nullptr); }

}  // namespace
}  // namespace kvs
