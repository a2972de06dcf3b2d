// GgufValue: one GGUF metadata value (scalar, string or array, arrays
// possibly nested), as read from a file.
//
// Ownership: strings and scalar-array payloads are views into the file's
// bytes; a GgufValue is valid only while the GgufFile it came from lives.
// Host byte order is assumed little-endian, as GGUF files are.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace kvs {

// GGUF metadata value types, numbered as in the file format.
enum class GgufType : uint32_t {
  kU8 = 0,
  kI8 = 1,
  kU16 = 2,
  kI16 = 3,
  kU32 = 4,
  kI32 = 5,
  kF32 = 6,
  kBool = 7,
  kString = 8,
  kArray = 9,
  kU64 = 10,
  kI64 = 11,
  kF64 = 12,
};

std::string_view GgufTypeName(GgufType t);  // "u32", "string", "array", ...
std::optional<GgufType> GgufTypeFromNumber(uint32_t n);
// Bytes of one scalar on disk; 0 for kString and kArray.
size_t GgufScalarBytes(GgufType t);
bool GgufIsInteger(GgufType t);

struct GgufValue {
  GgufType type = GgufType::kU8;

  // Scalars: the on-disk little-endian bits, zero-extended to 64 bits.
  uint64_t bits = 0;
  // kString.
  std::string_view str;
  // kArray: element type and count; the payload is in exactly one of
  // `raw` (scalar elements, n_elems * GgufScalarBytes(elem_type) bytes),
  // `strs` (string elements) or `arrays` (nested arrays).
  GgufType elem_type = GgufType::kU8;
  uint64_t n_elems = 0;
  const uint8_t* raw = nullptr;
  std::vector<std::string_view> strs;
  std::vector<GgufValue> arrays;

  // An integer scalar's value; nullopt for other types or a u64 above INT64_MAX.
  std::optional<int64_t> AsInt() const { return ScalarAsInt(type, bits); }
  // A numeric scalar's value (integers, floats, bool as 0/1).
  std::optional<double> AsDouble() const { return ScalarAsDouble(type, bits); }
  // Element i of a scalar array. REQUIRES: type == kArray, raw != nullptr, i < n_elems.
  uint64_t ElemBits(uint64_t i) const;
  std::optional<int64_t> ElemAsInt(uint64_t i) const { return ScalarAsInt(elem_type, ElemBits(i)); }
  std::optional<double> ElemAsDouble(uint64_t i) const {
    return ScalarAsDouble(elem_type, ElemBits(i));
  }

  // Human-readable rendering; arrays show at most `max_elems` elements.
  std::string ToString(size_t max_elems = 8) const;

  static std::optional<int64_t> ScalarAsInt(GgufType t, uint64_t bits);
  static std::optional<double> ScalarAsDouble(GgufType t, uint64_t bits);
};

}  // namespace kvs
