#include "kv/cbor.h"

namespace kvs {

size_t PutCborHead(uint8_t* out, CborMajor major, uint64_t value) {
  const uint8_t m = static_cast<uint8_t>(static_cast<uint8_t>(major) << 5);
  if (value < 24) {
    out[0] = m | static_cast<uint8_t>(value);
    return 1;
  }
  int n_bytes;
  uint8_t info;
  if (value <= 0xff) {
    n_bytes = 1, info = 24;
  } else if (value <= 0xffff) {
    n_bytes = 2, info = 25;
  } else if (value <= 0xffffffffull) {
    n_bytes = 4, info = 26;
  } else {
    n_bytes = 8, info = 27;
  }
  out[0] = m | info;
  for (int i = 0; i < n_bytes; ++i) {
    out[1 + i] = static_cast<uint8_t>(value >> (8 * (n_bytes - 1 - i)));  // big-endian
  }
  return 1 + static_cast<size_t>(n_bytes);
}

}  // namespace kvs
