// Scalar (portable) dot products of one weight row of the types Q4_1, Q5_0,
// Q5_1, IQ4_NL, Q2_K, Q3_K, Q5_K and IQ4_XS with one quantized activation
// row: ABlockQ8 for the 32-element types, ABlockQ8K for the 256-element
// ones (blocks.h). The Isa::kScalar path's kernels, and the statement of
// what the SIMD kernels compute: integer dots per block or sub-block,
// scaled in float once per block. Pure functions; REQUIRES: cols a
// multiple of the type's block.
#pragma once

#include <cstdint>

#include "tensor/dtype.h"

namespace kvs::cpu {

// The scalar dot product for wtype, or nullptr for the types
// kernels_scalar.cc handles itself (float types, Q4_0, Q8_0, Q4_K, Q6_K).
using ScalarDotFn = float (*)(const uint8_t* wrow, const uint8_t* xrow, int64_t cols);
ScalarDotFn ScalarDotFor(DType wtype);

}  // namespace kvs::cpu
