#include "base/huge_pages.h"

#include <gtest/gtest.h>

#include <cstring>

namespace kvs {
namespace {

constexpr size_t kHugePage = size_t{2} << 20;

TEST(HugePagesTest, AlignedToHugePagesAndWholePagesUsable) {
  for (size_t bytes : {size_t{1}, kHugePage - 1, kHugePage, 3 * kHugePage + 5}) {
    HugePageBuffer buf = AllocateHugePages(bytes, /*zero=*/false);
    ASSERT_NE(buf, nullptr) << bytes;
    EXPECT_EQ(reinterpret_cast<uintptr_t>(buf.get()) % kHugePage, 0u) << bytes;
    // Rounded up to whole huge pages: a partly used last page would be
    // shared with whatever the allocator puts after it.
    const size_t rounded = (bytes + kHugePage - 1) / kHugePage * kHugePage;
    std::memset(buf.get(), 0xAB, rounded);
  }
}

TEST(HugePagesTest, ZeroedWhenAsked) {
  // Whether the allocator hands back fresh or reused memory, it reads zero.
  for (int i = 0; i < 3; ++i) {
    HugePageBuffer buf = AllocateHugePages(kHugePage + 1, /*zero=*/true);
    ASSERT_NE(buf, nullptr);
    for (size_t j = 0; j < 2 * kHugePage; j += 4093) ASSERT_EQ(buf.get()[j], 0) << j;
    std::memset(buf.get(), 0xAB, 2 * kHugePage);
  }
}

TEST(HugePagesTest, ZeroBytesIsNull) { EXPECT_EQ(AllocateHugePages(0, true), nullptr); }

}  // namespace
}  // namespace kvs
