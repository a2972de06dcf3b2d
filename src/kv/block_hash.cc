#include "kv/block_hash.h"

#include <openssl/evp.h>

#include "base/check.h"

namespace kvs {
namespace {

// Lengths go in as fixed-width little-endian so the byte stream is the same
// on every host (hashes may one day cross machines with exported KV).
void PutU32(uint8_t* out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out[i] = static_cast<uint8_t>(v >> (8 * i));
}

}  // namespace

BlockHasher::BlockHasher()
    : ctx_(EVP_MD_CTX_new()), sha256_(EVP_MD_fetch(nullptr, "SHA256", nullptr)) {
  KVS_CHECK(ctx_ != nullptr && sha256_ != nullptr) << "OpenSSL SHA-256 unavailable";
}

BlockHasher::~BlockHasher() {
  EVP_MD_CTX_free(ctx_);
  EVP_MD_free(sha256_);
}

BlockHash BlockHasher::Hash(const BlockHash* parent, std::span<const TokenId> tokens,
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
