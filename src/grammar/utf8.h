// UTF-8 as the grammar code reads it: one lead-byte rule and one decoder
// for the GBNF and regex parsers, literals and the matcher. Structural
// checks only (lead and continuation bytes); the matcher adds the
// shortest-form and range checks for generated text.
#pragma once

#include <cstdint>
#include <string_view>

namespace kvs {

// Continuation bytes after `lead` (0-3), or -1 for a byte no code point
// starts with (a continuation byte, 0xF8-0xFF).
inline int Utf8Continuations(uint8_t lead) {
  return lead < 0x80 ? 0 : lead >= 0xF8 ? -1 : lead >= 0xF0 ? 3 : lead >= 0xE0 ? 2 : lead >= 0xC0 ? 1 : -1;
}

// Decodes the code point at s[pos] into *cp; returns its length in bytes,
// or 0 when the bytes there are not a whole UTF-8 sequence.
inline int DecodeUtf8(std::string_view s, size_t pos, uint32_t* cp) {
  const auto lead = static_cast<uint8_t>(s[pos]);
  const int n = Utf8Continuations(lead);
  if (n < 0 || pos + n >= s.size()) return 0;
  uint32_t v = n == 0 ? lead : lead & (0x3F >> n);
  for (int k = 1; k <= n; ++k) {
    const auto c = static_cast<uint8_t>(s[pos + k]);
    if ((c & 0xC0) != 0x80) return 0;
    v = (v << 6) | (c & 0x3F);
  }
  *cp = v;
  return n + 1;
}

}  // namespace kvs
