#include "tensor/dtype.h"

#include <cctype>
#include <iterator>
#include <string>

namespace kvs {

int64_t BlockElems(DType t) {
  switch (t) {
    case DType::kF32:
    case DType::kF16:
    case DType::kBF16: return 1;
    case DType::kQ4_0:
    case DType::kQ4_1:
    case DType::kQ5_0:
    case DType::kQ5_1:
    case DType::kQ8_0:
    case DType::kIQ4_NL: return 32;
    case DType::kQ2_K:
    case DType::kQ3_K:
    case DType::kQ4_K:
    case DType::kQ5_K:
    case DType::kQ6_K:
    case DType::kIQ4_XS: return 256;
  }
  return 1;
}

int64_t BlockBytes(DType t) {
  switch (t) {
    case DType::kF32: return 4;
    case DType::kF16:
    case DType::kBF16: return 2;
    case DType::kQ4_0: return 2 + 16;          // f16 scale, 32 x 4-bit
    case DType::kQ4_1: return 2 + 2 + 16;      // f16 scale, f16 min, 32 x 4-bit
    case DType::kQ5_0: return 2 + 4 + 16;      // f16 scale, 32 high bits, 32 x 4-bit
    case DType::kQ5_1: return 2 + 2 + 4 + 16;  // f16 scale, f16 min, 32 high bits, 32 x 4-bit
    case DType::kQ8_0: return 2 + 32;          // f16 scale, 32 x int8
    case DType::kIQ4_NL: return 2 + 16;        // f16 scale, 32 x 4-bit table index
    case DType::kQ2_K: return 16 + 64 + 2 + 2;     // 16 x (4-bit scale, 4-bit min), 256 x 2-bit, d, dmin
    case DType::kQ3_K: return 32 + 64 + 12 + 2;    // high bits, 256 x 2-bit, 16 x 6-bit scales, d
    case DType::kQ4_K: return 2 + 2 + 12 + 128;    // d, dmin, 8x(6-bit scale, 6-bit min), 256 x 4-bit
    case DType::kQ5_K: return 2 + 2 + 12 + 32 + 128;  // as Q4_K plus 256 high bits
    case DType::kQ6_K: return 128 + 64 + 16 + 2;   // ql, qh, 16 int8 scales, d
    case DType::kIQ4_XS: return 2 + 2 + 4 + 128;   // d, 8 x 6-bit scales (high 2 + low 4), 256 x 4-bit
  }
  return 0;
}

std::string_view DTypeName(DType t) {
  switch (t) {
    case DType::kF32: return "F32";
    case DType::kF16: return "F16";
    case DType::kBF16: return "BF16";
    case DType::kQ4_0: return "Q4_0";
    case DType::kQ4_1: return "Q4_1";
    case DType::kQ5_0: return "Q5_0";
    case DType::kQ5_1: return "Q5_1";
    case DType::kQ8_0: return "Q8_0";
    case DType::kQ2_K: return "Q2_K";
    case DType::kQ3_K: return "Q3_K";
    case DType::kQ4_K: return "Q4_K";
    case DType::kQ5_K: return "Q5_K";
    case DType::kQ6_K: return "Q6_K";
    case DType::kIQ4_NL: return "IQ4_NL";
    case DType::kIQ4_XS: return "IQ4_XS";
  }
  return "?";
}

std::string_view GgmlTypeName(uint32_t ggml_type) {
  // ggml.h's enum ggml_type; "" marks numbers it has removed.
  static constexpr std::string_view kNames[] = {
      "F32",     "F16",   "Q4_0",   "Q4_1",   "",       "",      "Q5_0",  "Q5_1",  "Q8_0",
      "Q8_1",    "Q2_K",  "Q3_K",   "Q4_K",   "Q5_K",   "Q6_K",  "Q8_K",  "IQ2_XXS",
      "IQ2_XS",  "IQ3_XXS", "IQ1_S", "IQ4_NL", "IQ3_S", "IQ2_S", "IQ4_XS", "I8",
      "I16",     "I32",   "I64",    "F64",    "IQ1_M",  "BF16",  "",      "",      "",
      "TQ1_0",   "TQ2_0", "",       "",       "",       "MXFP4", "NVFP4", "Q1_0",  "Q2_0"};
  static_assert(std::size(kNames) == 43);
  return ggml_type < std::size(kNames) ? kNames[ggml_type] : std::string_view();
}

std::optional<DType> DTypeFromGgml(uint32_t ggml_type) {
  for (DType t : kAllDTypes) {
    if (static_cast<uint32_t>(t) == ggml_type) return t;
  }
  return std::nullopt;
}

std::optional<DType> DTypeFromName(std::string_view name) {
  std::string upper;
  for (char c : name) upper += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  for (DType t : kAllDTypes) {
    if (upper == DTypeName(t)) return t;
  }
  return std::nullopt;
}

}  // namespace kvs
