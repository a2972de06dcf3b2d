// BlockHash and BlockHasher: the name of a full KV block's whole prefix.
//
// hash(block) = SHA-256(hash(parent) || n_tokens || tokens || len(salt) || salt)
// where the first block's parent hash is 32 zero bytes. Because the parent's
// hash is an input, one hash names every token from position 0 to the end of
// the block, so two sequences share a block only if they agree on the whole
// prefix. The salt (tenant identity; room for adapter ids later) is an input
// of every block, so the same tokens under different salts never collide.
//
// Why SHA-256 and not a fast 64-bit hash: a collision would hand one tenant
// another tenant's keys and values. Lengths are framed so that no two distinct
// (tokens, salt) inputs produce the same byte stream.
//
// Router-computable mode (PrefixHashAlgo::kSha256Cbor), vLLM's sha256_cbor:
//   hash(block) = SHA-256(CBOR([parent, [tokens...], extra_keys]))
// with parent a 32-byte CBOR byte string (for the first block NONE_HASH =
// SHA-256(CBOR(seed)), seed "vllm-none-hash" by default, or the value vLLM
// is given through PYTHONHASHSEED) and extra_keys null, or [salt] on the
// first block of a salted sequence (vLLM's cache_salt). A router that knows
// the seed recomputes every block hash of a prompt from its token ids. The
// salt needs to enter only the first block: every later hash covers it
// through the parent chain.
//
// Thread-safety: BlockHash is a value. A BlockHasher owns an OpenSSL digest
// context and must be used by one thread at a time.
#pragma once

#include <array>
#include <cstdint>
#include <cstring>
#include <span>
#include <string_view>

#include "base/ids.h"

struct evp_md_ctx_st;
struct evp_md_st;

namespace kvs {

struct BlockHash {
  std::array<uint8_t, 32> bytes{};

  // First 8 bytes as an integer: well mixed, used to index hash tables.
  uint64_t Low64() const {
    uint64_t v;
    std::memcpy(&v, bytes.data(), sizeof(v));
    return v;
  }
  friend bool operator==(const BlockHash& a, const BlockHash& b) { return a.bytes == b.bytes; }
};

enum class PrefixHashAlgo : uint8_t {
  kNative = 0,      // the framed SHA-256 above (salt in every block)
  kSha256Cbor = 1,  // vLLM's sha256_cbor
};

// vLLM's DEFAULT_NONE_HASH_SEED: the first block's parent is derived from it.
inline constexpr std::string_view kDefaultNoneHashSeed = "vllm-none-hash";

class BlockHasher {
 public:
  // Aborts if OpenSSL has no SHA-256 (a broken install). seed is used by
  // kSha256Cbor only.
  explicit BlockHasher(PrefixHashAlgo algo = PrefixHashAlgo::kNative,
                       std::string_view seed = kDefaultNoneHashSeed);
  ~BlockHasher();
  BlockHasher(const BlockHasher&) = delete;
  BlockHasher& operator=(const BlockHasher&) = delete;

  // Hash of a full block whose parent has hash `parent` (nullptr for the
  // first block of a sequence). Does not allocate.
  BlockHash Hash(const BlockHash* parent, std::span<const TokenId> tokens, std::string_view salt);

  PrefixHashAlgo algo() const { return algo_; }
  // kSha256Cbor: the first block's parent (vLLM's NONE_HASH).
  const BlockHash& none_hash() const { return none_hash_; }

 private:
  BlockHash HashNative(const BlockHash* parent, std::span<const TokenId> tokens,
                       std::string_view salt);
  BlockHash HashCbor(const BlockHash* parent, std::span<const TokenId> tokens,
                     std::string_view salt);

  PrefixHashAlgo algo_;
  BlockHash none_hash_;
  evp_md_ctx_st* ctx_;  // owned
  evp_md_st* sha256_;   // owned (fetched once: EVP_MD_fetch is not free)
};

}  // namespace kvs
