// Conversions between float rows and every DType's storage, as GGUF/ggml
// lay the blocks out (see docs/formats.md). These are the reference
// definitions: simple, scalar, the oracle fast kernels are compared with.
#pragma once

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

// IEEE half and bfloat16 scalars.
float F16ToF32(uint16_t h);
uint16_t F32ToF16(float f);  // round to nearest even
float BF16ToF32(uint16_t h);
uint16_t F32ToBF16(float f);  // round to nearest even

}  // namespace kvs
