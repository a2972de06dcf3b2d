#include "tensor/dtype.h"

#include <cctype>
#include <string>

namespace kvs {

int64_t BlockElems(DType t) {
  switch (t) {
    case DType::kF32:
    case DType::kF16:
    case DType::kBF16: return 1;
    case DType::kQ4_0:
    case DType::kQ8_0: return 32;
    case DType::kQ4_K:
    case DType::kQ6_K: return 256;
  }
  return 1;
}

int64_t BlockBytes(DType t) {
  switch (t) {
    case DType::kF32: return 4;
    case DType::kF16:
    case DType::kBF16: return 2;
    case DType::kQ4_0: return 2 + 16;        // f16 scale, 32 x 4-bit
    case DType::kQ8_0: return 2 + 32;        // f16 scale, 32 x int8
    case DType::kQ4_K: return 2 + 2 + 12 + 128;  // d, dmin, 8x(6-bit scale, 6-bit min), 256 x 4-bit
    case DType::kQ6_K: return 128 + 64 + 16 + 2;  // ql, qh, 16 int8 scales, d
  }
  return 0;
}

std::string_view DTypeName(DType t) {
  switch (t) {
    case DType::kF32: return "F32";
    case DType::kF16: return "F16";
    case DType::kBF16: return "BF16";
    case DType::kQ4_0: return "Q4_0";
    case DType::kQ8_0: return "Q8_0";
    case DType::kQ4_K: return "Q4_K";
    case DType::kQ6_K: return "Q6_K";
  }
  return "?";
}

std::optional<DType> DTypeFromGgml(uint32_t ggml_type) {
  switch (ggml_type) {
    case 0: return DType::kF32;
    case 1: return DType::kF16;
    case 2: return DType::kQ4_0;
    case 8: return DType::kQ8_0;
    case 12: return DType::kQ4_K;
    case 14: return DType::kQ6_K;
    case 30: return DType::kBF16;
    default: return std::nullopt;
  }
}

std::optional<DType> DTypeFromName(std::string_view name) {
  std::string upper;
  for (char c : name) upper += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  for (DType t : {DType::kF32, DType::kF16, DType::kBF16, DType::kQ4_0, DType::kQ8_0, DType::kQ4_K,
                  DType::kQ6_K}) {
    if (upper == DTypeName(t)) return t;
  }
  return std::nullopt;
}

}  // namespace kvs
