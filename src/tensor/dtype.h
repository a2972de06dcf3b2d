// DType: the element types kvserve reads and computes with, numbered as GGUF
// (ggml_type) numbers them so that a file's type field maps directly.
//
// Quantized types store rows as runs of fixed-size blocks; a row of n
// elements needs n / BlockElems(t) blocks of BlockBytes(t) bytes each.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace kvs {

enum class DType : uint32_t {
  kF32 = 0,
  kF16 = 1,
  kQ4_0 = 2,
  kQ8_0 = 8,
  kQ4_K = 12,
  kQ6_K = 14,
  kBF16 = 30,
};

// Elements per block (1 for F32/F16/BF16, 32 for Q8_0/Q4_0, 256 for K-quants).
int64_t BlockElems(DType t);
// Bytes per block.
int64_t BlockBytes(DType t);
// Bytes of a row of n elements. REQUIRES: n % BlockElems(t) == 0.
inline int64_t RowBytes(DType t, int64_t n) { return n / BlockElems(t) * BlockBytes(t); }

std::string_view DTypeName(DType t);  // "F32", "Q4_K", ...
// From a GGUF/ggml type number; nullopt for types kvserve does not support.
std::optional<DType> DTypeFromGgml(uint32_t ggml_type);
// From a name such as "q8_0" or "F16" (case-insensitive).
std::optional<DType> DTypeFromName(std::string_view name);

}  // namespace kvs
