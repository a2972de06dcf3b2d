// Conversions between float rows and every DType's storage, as GGUF/ggml
// lay the blocks out (see docs/formats.md). These are the reference
// definitions: simple, scalar, the oracle fast kernels are compared with.
#pragma once

#include <bit>
#include <cstdint>

#include "tensor/dtype.h"

namespace kvs {

// dst[n] = decode(src). REQUIRES: n % BlockElems(t) == 0.
void DequantizeRow(DType t, const void* src, float* dst, int64_t n);

// dst = encode(src[n]), RowBytes(t, n) bytes. REQUIRES: n % BlockElems(t) == 0.
void QuantizeRow(DType t, const float* src, void* dst, int64_t n);

// Q4_K: sub-block j's (0..7) 6-bit scale and min from the super-block's 12
// packed bytes.
void UnpackScaleMinK4(int j, const uint8_t* packed, int* scale, int* min);

// Q3_K: sub-block j's (0..15) 6-bit scale, as stored (0..63; the scale is
// this minus 32), from the super-block's 12 packed bytes.
int UnpackScaleK3(int j, const uint8_t* packed);

// IQ4_NL / IQ4_XS: the 16 values a 4-bit index selects (ggml's
// kvalues_iq4nl; a non-uniform grid, denser near zero).
inline constexpr int8_t kIq4NlValues[16] = {-127, -104, -83, -65, -49, -35, -22, -10,
                                            1,    13,   25,  38,  53,  69,  89,  113};

// IEEE half and bfloat16 scalars. The widening ones are exact and inline:
// row loops (DequantizeRow, the reference MatMul over F16 weights) call them
// once per element, and an out-of-line call was most of the reference
// backend's time on F16 models.
inline float F16ToF32(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000) << 16;
  const uint32_t em = h & 0x7FFF;  // exponent and mantissa
  // Normal: exponent and mantissa move up 13 bits, the exponent is rebiased
  // from 15 to 127; a half inf / nan (exponent 31) needs 255. Selects, not
  // branches: no misprediction per element in a row loop (GCC -O2 keeps it
  // scalar).
  const uint32_t bits = (em << 13) + (em >= 0x7C00 ? 224u << 23 : 112u << 23);
  // Zero or subnormal: em * 2^-24, exact in float.
  const float f = em < 0x0400 ? static_cast<float>(em) * 0x1p-24f : std::bit_cast<float>(bits);
  return std::bit_cast<float>(std::bit_cast<uint32_t>(f) | sign);
}
uint16_t F32ToF16(float f);  // round to nearest even
inline float BF16ToF32(uint16_t h) { return std::bit_cast<float>(static_cast<uint32_t>(h) << 16); }
uint16_t F32ToBF16(float f);  // round to nearest even

}  // namespace kvs
