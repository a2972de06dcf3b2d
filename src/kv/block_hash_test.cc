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

namespace kvs {
namespace {

// Expected values computed independently with Python's cbor2 5.4.6 and
// hashlib, as vLLM's sha256_cbor does:
//   H = lambda x: hashlib.sha256(cbor2.dumps(x, canonical=True)).digest()
//   none = H("vllm-none-hash"); h1 = H((none, (1, 2, 3, 4), None)); ...
std::string CborHex(const BlockHash& h) {
  std::string s;
  char buf[3];
  for (uint8_t b : h.bytes) {
    std::snprintf(buf, sizeof(buf), "%02x", b);
    s += buf;
  }
  return s;
}

TEST(BlockHashTest, Sha256CborMatchesCbor2AndHashlib) {
  BlockHasher hasher(PrefixHashAlgo::kSha256Cbor);
  EXPECT_EQ(CborHex(hasher.none_hash()),
            "9bd96a485ad84efdafb72ee48a1d7a69bcead0f8f0433173941b276b9581eef0");
  const std::vector<TokenId> a = {1, 2, 3, 4};
  const BlockHash h1 = hasher.Hash(nullptr, a, "");
  EXPECT_EQ(CborHex(h1), "58d0879dff3800f65f8c5fd449d73048c0f7699dd238a03b84b146b151d55111");
  // Token ids that need 2- and 4-byte CBOR heads.
  const std::vector<TokenId> b = {5, 300, 70000, 8};
  EXPECT_EQ(CborHex(hasher.Hash(&h1, b, "ignored-after-first-block")),
            "38f871f2e50e1f7ceef69412d18f94cdea2cbaa150305e735644090884a4749f");
  // The salt is the first block's extra key: H((none, (1, 2, 3, 4), ("tenant-a",))).
  EXPECT_EQ(CborHex(hasher.Hash(nullptr, a, "tenant-a")),
            "3572f8b43e1079aa80e6577902c95235cee7e0242311f273cfcd3fa3d534f295");
  // A block larger than the staging buffer: H((h1, tuple(range(1000)), None)).
  std::vector<TokenId> big(1000);
  for (int i = 0; i < 1000; ++i) big[i] = i;
  EXPECT_EQ(CborHex(hasher.Hash(&h1, big, "")),
            "a5d704f6e74c856ab17cb94a3be40694a96223a0d2ce3781bc044ef3ee4619dc");
}

TEST(BlockHashTest, Sha256CborSeedIsPythonHashSeed) {
  // vLLM with PYTHONHASHSEED=42: NONE_HASH = H("42").
  BlockHasher hasher(PrefixHashAlgo::kSha256Cbor, "42");
  EXPECT_EQ(CborHex(hasher.none_hash()),
            "9fa6eb003f14425eb9c8e6baacfbcaab26257357b829c7bfa74ffcc4f31c1780");
  const std::vector<TokenId> a = {1, 2, 3, 4};
  EXPECT_EQ(CborHex(hasher.Hash(nullptr, a, "")),
            "0a99040f25d8a5f22275b867f403918da98c9d140eaea10f5319d4d1d84429df");
}

}  // namespace
}  // namespace kvs
