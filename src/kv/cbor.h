// CBOR (RFC 8949) heads: the few encodings the sha256_cbor block hash needs.
//
// Why our own: vLLM's sha256_cbor hashes cbor2.dumps((parent, tokens,
// extra_keys), canonical=True), and a router recomputes those hashes from a
// prompt's token ids. Only definite-length items are needed (unsigned ints,
// byte and text strings, arrays, null), and canonical CBOR for them is just
// the shortest head, so a head writer is the whole encoder.
//
// Thread-safety: pure functions.
#pragma once

#include <cstddef>
#include <cstdint>

namespace kvs {

enum class CborMajor : uint8_t {
  kUnsigned = 0,
  kNegative = 1,
  kBytes = 2,
  kText = 3,
  kArray = 4,
};

inline constexpr uint8_t kCborNull = 0xf6;
// The longest head: one initial byte and an 8-byte argument.
inline constexpr size_t kCborMaxHead = 9;

// Writes the shortest head for (major, value) at out; returns its length.
// REQUIRES: out has kCborMaxHead bytes.
size_t PutCborHead(uint8_t* out, CborMajor major, uint64_t value);

}  // namespace kvs
