// Reference codecs of the block types beyond the first seven, one family per
// file: quant_legacy.cc (Q4_1, Q5_0, Q5_1, IQ4_NL: 32-element blocks) and
// quant_kquants.cc (Q2_K, Q3_K, Q5_K, IQ4_XS: 256-element super-blocks).
// Internal to tensor/: callers use DequantizeRow / QuantizeRow (quant.h).
//
// Dequantizers are bit-exact with ggml's: each value is computed with the
// same float operations in the same order as the format defines it (for
// example Q2_K's (d * scale) * q - (dmin * min), never a fused multiply-add),
// so that a file written by llama-quantize decodes to the same floats.
//
// Quantizers are ours: round to nearest against a simple per-block scale
// search (described per type), valid blocks of good accuracy but not
// llama.cpp's choice of scales, which iterates a weighted least-squares fit
// (make_qkx2_quants and friends). Files we write therefore differ in bytes
// from llama-quantize's and are somewhat less accurate (docs/formats.md).
// Every function handles nb blocks; x / y have nb * block elements.
#pragma once

#include <cmath>
#include <cstdint>

namespace kvs::quant_internal {

void DequantizeQ4_1(const void* src, float* y, int64_t nb);
void DequantizeQ5_0(const void* src, float* y, int64_t nb);
void DequantizeQ5_1(const void* src, float* y, int64_t nb);
void DequantizeIQ4_NL(const void* src, float* y, int64_t nb);
void DequantizeQ2K(const void* src, float* y, int64_t nb);
void DequantizeQ3K(const void* src, float* y, int64_t nb);
void DequantizeQ5K(const void* src, float* y, int64_t nb);
void DequantizeIQ4_XS(const void* src, float* y, int64_t nb);

void QuantizeQ4_1(const float* x, void* dst, int64_t nb);
void QuantizeQ5_0(const float* x, void* dst, int64_t nb);
void QuantizeQ5_1(const float* x, void* dst, int64_t nb);
void QuantizeIQ4_NL(const float* x, void* dst, int64_t nb);
void QuantizeQ2K(const float* x, void* dst, int64_t nb);
void QuantizeQ3K(const float* x, void* dst, int64_t nb);
void QuantizeQ5K(const float* x, void* dst, int64_t nb);
void QuantizeIQ4_XS(const float* x, void* dst, int64_t nb);

// Nearest entry of kIq4NlValues to v (the lower index on a tie).
int NearestIq4Nl(float v);
// Rounds to the nearest int, ties to even (the current rounding mode).
inline int RoundToInt(float x) { return static_cast<int>(std::lrintf(x)); }
// Q2_K / Q3_K 2-bit codes: element e = 128h + 32g + l (h half, g 0..3,
// l 0..31) sits in bits 2g of qs[32h + l].
inline int Code2(const uint8_t* qs, int e) { return (qs[32 * (e / 128) + e % 32] >> (2 * ((e % 128) / 32))) & 3; }
// Q6_K 6-bit codes (0..63, the value is code - 32): element e = 128h + 32g
// + l keeps its low nibble in ql[64h + l + 32(g % 2)] (high nibble for g >=
// 2) and its top two bits in bits 2g of qh[32h + l].
inline int Code6(const uint8_t* ql, const uint8_t* qh, int e) {
  const int h = e / 128, g = e % 128 / 32, l = e % 32;
  return ((ql[64 * h + l + 32 * (g % 2)] >> (4 * (g / 2))) & 15) | ((qh[32 * h + l] >> (2 * g)) & 3) << 4;
}
// Best IQ4_NL-table scale for n values (n <= 32): the candidate among a
// few that map the largest-magnitude value near a table end with the least
// squared error; writes the chosen indices. Returns the scale (not rounded
// to f16: callers round and re-choose the indices against the stored one).
float SearchIq4NlScale(const float* x, int n, uint8_t* idx);

}  // namespace kvs::quant_internal
