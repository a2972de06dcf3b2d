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
  kQ4_1 = 3,
  kQ5_0 = 6,
  kQ5_1 = 7,
  kQ8_0 = 8,
  kQ2_K = 10,
  kQ3_K = 11,
  kQ4_K = 12,
  kQ5_K = 13,
  kQ6_K = 14,
  kIQ4_NL = 20,
  kIQ4_XS = 23,
  kBF16 = 30,
};

// Every DType, in ggml's numbering order.
inline constexpr DType kAllDTypes[] = {
    DType::kF32,  DType::kF16,  DType::kQ4_0,   DType::kQ4_1,   DType::kQ5_0,
    DType::kQ5_1, DType::kQ8_0, DType::kQ2_K,   DType::kQ3_K,   DType::kQ4_K,
    DType::kQ5_K, DType::kQ6_K, DType::kIQ4_NL, DType::kIQ4_XS, DType::kBF16};

// Elements per block (1 for F32/F16/BF16, 32 for Q4_0..Q8_0 and IQ4_NL, 256
// for K-quants and IQ4_XS).
int64_t BlockElems(DType t);
// Bytes per block.
int64_t BlockBytes(DType t);
// Bytes of a row of n elements. REQUIRES: n % BlockElems(t) == 0.
inline int64_t RowBytes(DType t, int64_t n) { return n / BlockElems(t) * BlockBytes(t); }

std::string_view DTypeName(DType t);  // "F32", "Q4_K", ...
// ggml's name for any type number it has defined (0..42, "Q8_1",
// "IQ2_XXS", "MXFP4", ...), supported here or not, so that an error can
// name a file's type; "" for numbers ggml never used or has withdrawn
// (4, 5, 31..33, 36..38) and beyond 42.
std::string_view GgmlTypeName(uint32_t ggml_type);
// From a GGUF/ggml type number; nullopt for types kvserve does not support.
std::optional<DType> DTypeFromGgml(uint32_t ggml_type);
// From a name such as "q8_0" or "F16" (case-insensitive).
std::optional<DType> DTypeFromName(std::string_view name);

}  // namespace kvs
