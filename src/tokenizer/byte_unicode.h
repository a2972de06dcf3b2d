// GPT-2's reversible byte <-> unicode mapping: byte-level BPE vocabularies
// spell every byte as a printable code point, so that pieces are text.
// Printable Latin-1 bytes (! .. ~, ¡ .. ¬, ® .. ÿ) stand for themselves;
// the other 68 bytes map, in order, to U+0100 upwards (space -> U+0120 'Ġ',
// newline -> U+010A 'Ċ'). Pure functions over a fixed table; thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace kvs {

// The code point byte `b` is spelled with.
uint32_t ByteToCodepoint(uint8_t b);
// The byte code point `cp` spells, or -1 if it spells none.
int CodepointToByte(uint32_t cp);

// Appends the UTF-8 spelling of `bytes` in the mapped alphabet to `out`.
void AppendByteEncoded(std::string_view bytes, std::string* out);
// Decodes a piece spelled in the mapped alphabet back to bytes. A code point
// outside the alphabet is kept as its own UTF-8 (llama.cpp would print a
// placeholder; keeping the text loses nothing). Invalid UTF-8 is copied.
std::string ByteDecodePiece(std::string_view piece);

}  // namespace kvs
