#include "kv/block_hash.h"

#include <openssl/evp.h>

#include "base/check.h"
#include "kv/cbor.h"

namespace kvs {
namespace {

// Lengths go in as fixed-width little-endian so the byte stream is the same
// on every host (hashes may one day cross machines with exported KV).
void PutU32(uint8_t* out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out[i] = static_cast<uint8_t>(v >> (8 * i));
}

}  // namespace

BlockHasher::BlockHasher(PrefixHashAlgo algo, std::string_view seed)
    : algo_(algo), ctx_(EVP_MD_CTX_new()), sha256_(EVP_MD_fetch(nullptr, "SHA256", nullptr)) {
  KVS_CHECK(ctx_ != nullptr && sha256_ != nullptr) << "OpenSSL SHA-256 unavailable";
  // NONE_HASH = sha256(cbor2.dumps(seed)): the seed as a CBOR text string.
  uint8_t head[kCborMaxHead];
  const size_t n_head = PutCborHead(head, CborMajor::kText, seed.size());
  unsigned int len = 0;
  const bool ok = EVP_DigestInit_ex2(ctx_, sha256_, nullptr) == 1 &&
                  EVP_DigestUpdate(ctx_, head, n_head) == 1 &&
                  EVP_DigestUpdate(ctx_, seed.data(), seed.size()) == 1 &&
                  EVP_DigestFinal_ex(ctx_, none_hash_.bytes.data(), &len) == 1;
  KVS_CHECK(ok && len == none_hash_.bytes.size()) << "SHA-256 digest failed";
}

BlockHasher::~BlockHasher() {
  EVP_MD_CTX_free(ctx_);
  EVP_MD_free(sha256_);
}

BlockHash BlockHasher::Hash(const BlockHash* parent, std::span<const TokenId> tokens,
                            std::string_view salt) {
  return algo_ == PrefixHashAlgo::kSha256Cbor ? HashCbor(parent, tokens, salt)
                                              : HashNative(parent, tokens, salt);
}

BlockHash BlockHasher::HashCbor(const BlockHash* parent, std::span<const TokenId> tokens,
                                std::string_view salt) {
  // CBOR([parent_bytes, [t0, t1, ...], extra_keys]), staged in a stack
  // buffer and flushed to OpenSSL when it fills (no allocation).
  bool ok = EVP_DigestInit_ex2(ctx_, sha256_, nullptr) == 1;
  uint8_t buf[512];
  size_t used = 0;
  auto flush = [&] {
    ok = ok && EVP_DigestUpdate(ctx_, buf, used) == 1;
    used = 0;
  };
  auto head = [&](CborMajor major, uint64_t v) {
    if (used + kCborMaxHead > sizeof(buf)) flush();
    used += PutCborHead(buf + used, major, v);
  };
  const BlockHash& p = parent != nullptr ? *parent : none_hash_;
  head(CborMajor::kArray, 3);
  head(CborMajor::kBytes, p.bytes.size());
  std::memcpy(buf + used, p.bytes.data(), p.bytes.size());  // fits: used <= 1 + 2 here
  used += p.bytes.size();
  head(CborMajor::kArray, tokens.size());
  for (TokenId t : tokens) {
    // Token ids are validated non-negative before they reach the KV manager.
    head(CborMajor::kUnsigned, static_cast<uint64_t>(static_cast<uint32_t>(t)));
  }
  // vLLM's extra keys: (cache_salt,) on the first block only, else None.
  if (parent == nullptr && !salt.empty()) {
    head(CborMajor::kArray, 1);
    head(CborMajor::kText, salt.size());
    flush();
    ok = ok && EVP_DigestUpdate(ctx_, salt.data(), salt.size()) == 1;
  } else {
    if (used + 1 > sizeof(buf)) flush();
    buf[used++] = kCborNull;
    flush();
  }
  BlockHash out;
  unsigned int len = 0;
  ok = ok && EVP_DigestFinal_ex(ctx_, out.bytes.data(), &len) == 1;
  KVS_CHECK(ok && len == out.bytes.size()) << "SHA-256 digest failed";
  return out;
}

BlockHash BlockHasher::HashNative(const BlockHash* parent, std::span<const TokenId> tokens,
                                  std::string_view salt) {
  static constexpr BlockHash kRoot{};
  const BlockHash& p = parent != nullptr ? *parent : kRoot;
  bool ok = EVP_DigestInit_ex2(ctx_, sha256_, nullptr) == 1;
  // Everything is staged in a stack buffer so that a default 16-token block
  // goes to OpenSSL in one Update call (each call has a fixed cost).
  uint8_t buf[512];
  size_t used = 0;
  auto flush = [&] {
    ok = ok && EVP_DigestUpdate(ctx_, buf, used) == 1;
    used = 0;
  };
  auto put_u32 = [&](uint32_t v) {
    if (used + 4 > sizeof(buf)) flush();
    PutU32(buf + used, v);
    used += 4;
  };
  std::memcpy(buf, p.bytes.data(), p.bytes.size());
  used = p.bytes.size();
  put_u32(static_cast<uint32_t>(tokens.size()));
  for (TokenId t : tokens) put_u32(static_cast<uint32_t>(t));
  put_u32(static_cast<uint32_t>(salt.size()));
  if (used + salt.size() <= sizeof(buf)) {
    std::memcpy(buf + used, salt.data(), salt.size());
    used += salt.size();
    flush();
  } else {
    flush();
    ok = ok && EVP_DigestUpdate(ctx_, salt.data(), salt.size()) == 1;
  }
  BlockHash out;
  unsigned int len = 0;
  ok = ok && EVP_DigestFinal_ex(ctx_, out.bytes.data(), &len) == 1;
  KVS_CHECK(ok && len == out.bytes.size()) << "SHA-256 digest failed";
  return out;
}

}  // namespace kvs
