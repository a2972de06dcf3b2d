#include "kv/cbor.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace kvs {
namespace {

std::string Hex(CborMajor major, uint64_t v) {
  uint8_t buf[kCborMaxHead];
  const size_t n = PutCborHead(buf, major, v);
  static const char* kDigits = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < n; ++i) {
    out += kDigits[buf[i] >> 4];
    out += kDigits[buf[i] & 15];
  }
  return out;
}

// Expected bytes from RFC 8949 Appendix A (examples of encoded CBOR items).
TEST(CborTest, UnsignedIntegersMatchRfc8949AppendixA) {
  EXPECT_EQ(Hex(CborMajor::kUnsigned, 0), "00");
  EXPECT_EQ(Hex(CborMajor::kUnsigned, 10), "0a");
  EXPECT_EQ(Hex(CborMajor::kUnsigned, 23), "17");
  EXPECT_EQ(Hex(CborMajor::kUnsigned, 24), "1818");
  EXPECT_EQ(Hex(CborMajor::kUnsigned, 100), "1864");
  EXPECT_EQ(Hex(CborMajor::kUnsigned, 1000), "1903e8");
  EXPECT_EQ(Hex(CborMajor::kUnsigned, 1000000), "1a000f4240");
  EXPECT_EQ(Hex(CborMajor::kUnsigned, 1000000000000ull), "1b000000e8d4a51000");
  EXPECT_EQ(Hex(CborMajor::kUnsigned, 18446744073709551615ull), "1bffffffffffffffff");
}

TEST(CborTest, StringAndArrayHeadsMatchRfc8949AppendixA) {
  EXPECT_EQ(Hex(CborMajor::kBytes, 4), "44");     // h'01020304' -> 0x4401020304
  EXPECT_EQ(Hex(CborMajor::kText, 1), "61");      // "a" -> 0x6161
  EXPECT_EQ(Hex(CborMajor::kText, 4), "64");      // "IETF" -> 0x6449455446
  EXPECT_EQ(Hex(CborMajor::kArray, 0), "80");     // [] -> 0x80
  EXPECT_EQ(Hex(CborMajor::kArray, 3), "83");     // [1, 2, 3] -> 0x83010203
  EXPECT_EQ(Hex(CborMajor::kArray, 25), "9819");  // [1, ..., 25] -> 0x98190102...
  EXPECT_EQ(Hex(CborMajor::kBytes, 32), "5820");  // a SHA-256 digest
  EXPECT_EQ(kCborNull, 0xf6);                     // null -> 0xf6
}

}  // namespace
}  // namespace kvs
