#include "tokenizer/byte_unicode.h"

#include "base/check.h"

namespace kvs {
namespace {

constexpr bool IsSelfMapped(uint32_t b) {
  return (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
}

// kByteToCp[b]: the code point byte b is spelled with; kCpToByte[cp] for
// cp < 0x144: the byte it spells, or -1. Both built at compile time.
struct Tables {
  uint16_t byte_to_cp[256] = {};
  int16_t cp_to_byte[0x144] = {};
};
constexpr Tables MakeTables() {
  Tables t;
  for (int i = 0; i < 0x144; ++i) t.cp_to_byte[i] = -1;
  uint32_t next = 0x100;
  for (uint32_t b = 0; b < 256; ++b) {
    const uint32_t cp = IsSelfMapped(b) ? b : next++;
    t.byte_to_cp[b] = static_cast<uint16_t>(cp);
    t.cp_to_byte[cp] = static_cast<int16_t>(b);
  }
  return t;
}
constexpr Tables kTables = MakeTables();
static_assert(kTables.byte_to_cp[uint8_t{' '}] == 0x120 && kTables.byte_to_cp[uint8_t{'\n'}] == 0x10A);

void AppendUtf8(uint32_t cp, std::string* out) {
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    KVS_CHECK(false) << "the byte alphabet ends below U+0800";
  }
}

}  // namespace

uint32_t ByteToCodepoint(uint8_t b) { return kTables.byte_to_cp[b]; }

int CodepointToByte(uint32_t cp) { return cp < 0x144 ? kTables.cp_to_byte[cp] : -1; }

void AppendByteEncoded(std::string_view bytes, std::string* out) {
  for (char c : bytes) AppendUtf8(ByteToCodepoint(static_cast<uint8_t>(c)), out);
}

std::string ByteDecodePiece(std::string_view piece) {
  std::string out;
  out.reserve(piece.size());
  size_t i = 0;
  while (i < piece.size()) {
    const auto c = static_cast<unsigned char>(piece[i]);
    uint32_t cp = c;
    size_t len = 1;
    if (c >= 0xC0 && c < 0xE0 && i + 1 < piece.size()) {
      cp = ((c & 0x1F) << 6) | (static_cast<unsigned char>(piece[i + 1]) & 0x3F);
      len = 2;
    } else if (c >= 0x80) {
      cp = 0xFFFFFFFF;  // not in the alphabet (which is all 1- and 2-byte)
      len = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 1;
      if (i + len > piece.size()) len = piece.size() - i;
    }
    const int b = CodepointToByte(cp);
    if (b >= 0) {
      out.push_back(static_cast<char>(b));
    } else {
      out.append(piece, i, len);
    }
    i += len;
  }
  return out;
}

}  // namespace kvs
