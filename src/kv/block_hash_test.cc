#include "kv/block_hash.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <string>
#include <vector>

namespace kvs {
namespace {

std::string Hex(const BlockHash& h) {
  std::string s;
  char buf[3];
  for (uint8_t b : h.bytes) {
    std::snprintf(buf, sizeof(buf), "%02x", b);
    s += buf;
  }
  return s;
}

// Expected values computed independently with Python's hashlib over the
// documented byte layout: parent(32) | u32le n | u32le tokens... | u32le len(salt) | salt.
TEST(BlockHashTest, MatchesDocumentedLayout) {
  BlockHasher hasher;
  const std::vector<TokenId> a = {1, 2, 3, 4};
  const BlockHash h1 = hasher.Hash(nullptr, a, "");
  EXPECT_EQ(Hex(h1), "b6a0deb1ace9ed267aa2566a00dfba012a0a0a7f18282decea003718d8b9b040");
  const std::vector<TokenId> b = {5, 6, 7, 8};
  EXPECT_EQ(Hex(hasher.Hash(&h1, b, "tenant-a")),
            "a6fa47f738d9b1d3fcfac3e91a63159ec1dec7e855b7048a4fe80da9e99d0128");
  const std::vector<TokenId> neg = {-1};
  EXPECT_EQ(Hex(hasher.Hash(nullptr, neg, "")),
            "2bb8fc9da830bd10df64c37ab7c6d5f8f2872665ee8e9a06625cee6540f60140");
}

TEST(BlockHashTest, EveryInputMatters) {
  BlockHasher hasher;
  const std::vector<TokenId> t = {10, 20, 30, 40};
  const BlockHash base = hasher.Hash(nullptr, t, "s");
  EXPECT_EQ(base, hasher.Hash(nullptr, t, "s"));  // deterministic, context reused

  const std::vector<TokenId> t2 = {10, 20, 30, 41};
  EXPECT_FALSE(base == hasher.Hash(nullptr, t2, "s"));
  EXPECT_FALSE(base == hasher.Hash(nullptr, t, "S"));
  EXPECT_FALSE(base == hasher.Hash(nullptr, t, ""));
  EXPECT_FALSE(base == hasher.Hash(&base, t, "s"));  // same block, different prefix
}

// Lengths are framed: moving bytes between the token list and the salt must
// not produce the same stream.
TEST(BlockHashTest, TokensAndSaltAreFramed) {
  BlockHasher hasher;
  const std::vector<TokenId> two = {0x64636261, 4};  // "abcd" as little-endian bytes
  const std::vector<TokenId> one = {0x64636261};
  EXPECT_FALSE(hasher.Hash(nullptr, one, std::string("\x04\x00\x00\x00", 4)) ==
               hasher.Hash(nullptr, two, ""));
}

TEST(BlockHashTest, LongSaltAndLongBlock) {
  BlockHasher hasher;
  std::vector<TokenId> t(300);
  for (size_t i = 0; i < t.size(); ++i) t[i] = static_cast<TokenId>(i);
  const std::string salt(1000, 'x');
  const BlockHash h = hasher.Hash(nullptr, t, salt);
  EXPECT_EQ(h, hasher.Hash(nullptr, t, salt));
  std::string salt2 = salt;
  salt2.back() = 'y';
  EXPECT_FALSE(h == hasher.Hash(nullptr, t, salt2));
  t.back() = 0;
  EXPECT_FALSE(h == hasher.Hash(nullptr, t, salt));
}

}  // namespace
}  // namespace kvs
