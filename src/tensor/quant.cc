// Reference (scalar) block codecs. The byte layouts follow ggml exactly so
// that GGUF files written by llama.cpp decode here bit for bit; the
// quantizers are ours and aim for valid, reasonably accurate blocks rather
// than llama.cpp's exact choice of scales (see docs/formats.md).
#include "tensor/quant.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "base/check.h"
#include "tensor/quant_codecs.h"

namespace kvs {
namespace {

constexpr int kQK = 32;    // elements per Q8_0 / Q4_0 block
constexpr int kQKK = 256;  // elements per K-quant super-block

// On-disk blocks. Only uint8_t/uint16_t members, so no padding and alignment
// 2 at most; static_asserts pin the sizes to dtype.cc's BlockBytes.
struct BlockQ8_0 {
  uint16_t d;      // f16 scale
  int8_t qs[kQK];  // x = d * qs[i]
};
struct BlockQ4_0 {
  uint16_t d;           // f16 scale
  uint8_t qs[kQK / 2];  // x[i] = d * ((qs[i] & 15) - 8), x[i + 16] = d * ((qs[i] >> 4) - 8)
};
struct BlockQ4K {
  uint16_t d;             // f16 scale of the 6-bit sub-block scales
  uint16_t dmin;          // f16 scale of the 6-bit sub-block mins
  uint8_t scales[12];     // 8 x (6-bit scale, 6-bit min), packed (see PackScaleMinK4)
  uint8_t qs[kQKK / 2];   // 4-bit quants, 64 elements per 32 bytes (low nibbles, then high)
};
struct BlockQ6K {
  uint8_t ql[kQKK / 2];      // low 4 bits of each 6-bit quant
  uint8_t qh[kQKK / 4];      // high 2 bits, four quants per byte
  int8_t scales[kQKK / 16];  // one int8 scale per 16 elements
  uint16_t d;                // f16 super-block scale
};
static_assert(sizeof(BlockQ8_0) == 34);
static_assert(sizeof(BlockQ4_0) == 18);
static_assert(sizeof(BlockQ4K) == 144);
static_assert(sizeof(BlockQ6K) == 210);

uint32_t FloatBits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}
float BitsFloat(uint32_t u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

int RoundToInt(float x) { return static_cast<int>(std::lrintf(x)); }

}  // namespace

// The first four sub-blocks keep theirs in the low 6 bits of bytes 0..3 /
// 4..7; the last four keep their low 4 bits in bytes 8..11 and their top 2
// bits in the spare top bits of bytes 0..7.
void UnpackScaleMinK4(int j, const uint8_t* q, int* scale, int* min) {
  if (j < 4) {
    *scale = q[j] & 63;
    *min = q[j + 4] & 63;
  } else {
    *scale = (q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4);
    *min = (q[j + 4] >> 4) | ((q[j] >> 6) << 4);
  }
}

namespace {

// Inverse of UnpackScaleMinK4. REQUIRES: every value in [0, 63].
void PackScaleMinK4(const uint8_t scale[8], const uint8_t min[8], uint8_t q[12]) {
  for (int j = 0; j < 4; ++j) {
    q[j] = static_cast<uint8_t>(scale[j] | ((scale[j + 4] >> 4) << 6));
    q[j + 4] = static_cast<uint8_t>(min[j] | ((min[j + 4] >> 4) << 6));
    q[j + 8] = static_cast<uint8_t>((scale[j + 4] & 0xF) | ((min[j + 4] & 0xF) << 4));
  }
}

// ---- Q8_0 ----

void DequantizeQ8_0(const BlockQ8_0* b, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i) {
    const float d = F16ToF32(b[i].d);
    for (int j = 0; j < kQK; ++j) y[i * kQK + j] = d * b[i].qs[j];
  }
}

void QuantizeQ8_0(const float* x, BlockQ8_0* b, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, x += kQK) {
    float amax = 0.f;
    for (int j = 0; j < kQK; ++j) amax = std::max(amax, std::fabs(x[j]));
    b[i].d = F32ToF16(amax / 127.f);
    // Quantize against the scale as stored (f16-rounded), not the exact one.
    const float d = F16ToF32(b[i].d);
    const float id = d != 0.f ? 1.f / d : 0.f;
    for (int j = 0; j < kQK; ++j) {
      b[i].qs[j] = static_cast<int8_t>(std::clamp(RoundToInt(x[j] * id), -127, 127));
    }
  }
}

// ---- Q4_0 ----

void DequantizeQ4_0(const BlockQ4_0* b, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, y += kQK) {
    const float d = F16ToF32(b[i].d);
    for (int j = 0; j < kQK / 2; ++j) {
      y[j] = d * ((b[i].qs[j] & 0xF) - 8);
      y[j + kQK / 2] = d * ((b[i].qs[j] >> 4) - 8);
    }
  }
}

void QuantizeQ4_0(const float* x, BlockQ4_0* b, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, x += kQK) {
    // The code range is -8..7: map the value of largest magnitude to -8 so
    // that it is exact and the asymmetric range is fully used.
    float max = 0.f;
    for (int j = 0; j < kQK; ++j) {
      if (std::fabs(x[j]) > std::fabs(max)) max = x[j];
    }
    b[i].d = F32ToF16(max / -8.f);
    const float d = F16ToF32(b[i].d);
    const float id = d != 0.f ? 1.f / d : 0.f;
    for (int j = 0; j < kQK / 2; ++j) {
      const int q0 = std::clamp(RoundToInt(x[j] * id) + 8, 0, 15);
      const int q1 = std::clamp(RoundToInt(x[j + kQK / 2] * id) + 8, 0, 15);
      b[i].qs[j] = static_cast<uint8_t>(q0 | (q1 << 4));
    }
  }
}

// ---- Q4_K ----

void DequantizeQ4K(const BlockQ4K* b, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i) {
    const float d = F16ToF32(b[i].d);
    const float dmin = F16ToF32(b[i].dmin);
    const uint8_t* q = b[i].qs;
    for (int chunk = 0; chunk < 4; ++chunk, q += 32, y += 64) {
      int sc0, m0, sc1, m1;
      UnpackScaleMinK4(2 * chunk, b[i].scales, &sc0, &m0);
      UnpackScaleMinK4(2 * chunk + 1, b[i].scales, &sc1, &m1);
      const float d0 = d * sc0, min0 = dmin * m0;
      const float d1 = d * sc1, min1 = dmin * m1;
      for (int l = 0; l < 32; ++l) {
        y[l] = d0 * (q[l] & 0xF) - min0;
        y[l + 32] = d1 * (q[l] >> 4) - min1;
      }
    }
  }
}

// Each 32-element sub-block s is x ~= d * scale[s] * q - dmin * min[s] with
// q in 0..15. Per sub-block: min = -min(0, lowest), step = (highest +
// min) / 15; then the steps and mins are themselves quantized to 6 bits
// against the largest of each, and the quants are chosen for the stored
// (rounded) step and min.
void QuantizeQ4K(const float* x, BlockQ4K* b, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, x += kQKK) {
    float step[8], mins[8];
    float max_step = 0.f, max_min = 0.f;
    for (int s = 0; s < 8; ++s) {
      const float* xs = x + 32 * s;
      float lo = xs[0], hi = xs[0];
      for (int l = 1; l < 32; ++l) {
        lo = std::min(lo, xs[l]);
        hi = std::max(hi, xs[l]);
      }
      mins[s] = -std::min(0.f, lo);
      step[s] = (hi + mins[s]) / 15.f;
      max_step = std::max(max_step, step[s]);
      max_min = std::max(max_min, mins[s]);
    }
    b[i].d = F32ToF16(max_step / 63.f);
    b[i].dmin = F32ToF16(max_min / 63.f);
    const float d = F16ToF32(b[i].d);
    const float dmin = F16ToF32(b[i].dmin);
    uint8_t sc[8], mn[8];
    for (int s = 0; s < 8; ++s) {
      sc[s] = static_cast<uint8_t>(d > 0.f ? std::clamp(RoundToInt(step[s] / d), 0, 63) : 0);
      // Round the min up so that the sub-block's lowest value stays in range.
      mn[s] = static_cast<uint8_t>(
          dmin > 0.f ? std::clamp(static_cast<int>(std::ceil(mins[s] / dmin)), 0, 63) : 0);
    }
    PackScaleMinK4(sc, mn, b[i].scales);
    uint8_t q[kQKK];
    for (int s = 0; s < 8; ++s) {
      const float ds = d * sc[s];
      const float ms = dmin * mn[s];
      const float ids = ds > 0.f ? 1.f / ds : 0.f;
      for (int l = 0; l < 32; ++l) {
        q[32 * s + l] = static_cast<uint8_t>(std::clamp(RoundToInt((x[32 * s + l] + ms) * ids), 0, 15));
      }
    }
    for (int chunk = 0; chunk < 4; ++chunk) {
      for (int l = 0; l < 32; ++l) {
        b[i].qs[32 * chunk + l] =
            static_cast<uint8_t>(q[64 * chunk + l] | (q[64 * chunk + 32 + l] << 4));
      }
    }
  }
}

// ---- Q6_K ----
// Within each half (128 elements) of a super-block, element e = 32 * g + l
// (g in 0..3, l in 0..31) keeps its low nibble in ql[l + 32 * (g & 1)]
// (low nibble for g < 2, high for g >= 2) and its top two bits in bits
// 2g..2g+1 of qh[l]; its scale is scales[e / 16]. Quants are stored +32.

void DequantizeQ6K(const BlockQ6K* b, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i) {
    const float d = F16ToF32(b[i].d);
    const uint8_t* ql = b[i].ql;
    const uint8_t* qh = b[i].qh;
    const int8_t* sc = b[i].scales;
    for (int half = 0; half < 2; ++half, ql += 64, qh += 32, sc += 8, y += 128) {
      for (int l = 0; l < 32; ++l) {
        const int is = l / 16;
        const int q0 = ((ql[l] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32;
        const int q1 = ((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32;
        const int q2 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
        const int q3 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
        y[l] = d * sc[is] * q0;
        y[l + 32] = d * sc[is + 2] * q1;
        y[l + 64] = d * sc[is + 4] * q2;
        y[l + 96] = d * sc[is + 6] * q3;
      }
    }
  }
}

void QuantizeQ6K(const float* x, BlockQ6K* b, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, x += kQKK) {
    // Per 16 elements a signed step that maps the largest-magnitude value to
    // -32 (the code range is -32..31); the steps are then quantized to int8
    // against the largest one.
    float step[16];
    float max_abs_step = 0.f;
    for (int s = 0; s < 16; ++s) {
      float max = 0.f;
      for (int l = 0; l < 16; ++l) {
        if (std::fabs(x[16 * s + l]) > std::fabs(max)) max = x[16 * s + l];
      }
      step[s] = max / -32.f;
      max_abs_step = std::max(max_abs_step, std::fabs(step[s]));
    }
    b[i].d = F32ToF16(max_abs_step / 127.f);
    const float d = F16ToF32(b[i].d);
    uint8_t q[kQKK];
    for (int s = 0; s < 16; ++s) {
      const int sc = d > 0.f ? std::clamp(RoundToInt(step[s] / d), -127, 127) : 0;
      b[i].scales[s] = static_cast<int8_t>(sc);
      const float ds = d * sc;
      const float ids = ds != 0.f ? 1.f / ds : 0.f;
      for (int l = 0; l < 16; ++l) {
        q[16 * s + l] =
            static_cast<uint8_t>(std::clamp(RoundToInt(x[16 * s + l] * ids), -32, 31) + 32);
      }
    }
    std::memset(b[i].qh, 0, sizeof(b[i].qh));
    for (int half = 0; half < 2; ++half) {
      const uint8_t* qq = q + 128 * half;
      uint8_t* ql = b[i].ql + 64 * half;
      uint8_t* qh = b[i].qh + 32 * half;
      for (int l = 0; l < 32; ++l) {
        ql[l] = static_cast<uint8_t>((qq[l] & 0xF) | ((qq[l + 64] & 0xF) << 4));
        ql[l + 32] = static_cast<uint8_t>((qq[l + 32] & 0xF) | ((qq[l + 96] & 0xF) << 4));
        qh[l] = static_cast<uint8_t>((qq[l] >> 4) | ((qq[l + 32] >> 4) << 2) |
                                     ((qq[l + 64] >> 4) << 4) | ((qq[l + 96] >> 4) << 6));
      }
    }
  }
}

}  // namespace

uint16_t F32ToF16(float f) {
  const uint32_t u = FloatBits(f);
  const uint16_t sign = static_cast<uint16_t>((u >> 16) & 0x8000);
  const uint32_t abs = u & 0x7FFFFFFF;
  if (abs > 0x7F800000) return static_cast<uint16_t>(sign | 0x7E00);  // nan, kept quiet
  if (abs >= 0x477FF000) return static_cast<uint16_t>(sign | 0x7C00);  // rounds to >= 65536: inf
  if (abs < 0x38800000) {
    // Below the smallest normal half (2^-14): encode as subnormal, mant =
    // round(|f| * 2^24). Multiplying by a power of two is exact, and
    // lrintf rounds to nearest even in the default rounding mode.
    const float scaled = BitsFloat(abs) * 0x1p24f;
    return static_cast<uint16_t>(sign | static_cast<uint16_t>(std::lrintf(scaled)));
  }
  // Normal: rebias exponent, round the 13 dropped mantissa bits to nearest
  // even; a carry out of the mantissa correctly bumps the exponent.
  uint32_t h = ((abs >> 13) - (112u << 10));
  const uint32_t rest = abs & 0x1FFF;
  if (rest > 0x1000 || (rest == 0x1000 && (h & 1))) ++h;
  return static_cast<uint16_t>(sign | h);
}

uint16_t F32ToBF16(float f) {
  uint32_t u = FloatBits(f);
  if ((u & 0x7FFFFFFF) > 0x7F800000) return static_cast<uint16_t>((u >> 16) | 0x40);  // quiet nan
  u += 0x7FFF + ((u >> 16) & 1);
  return static_cast<uint16_t>(u >> 16);
}

void DequantizeRow(DType t, const void* src, float* dst, int64_t n) {
  KVS_CHECK(n % BlockElems(t) == 0) << "row of " << n << " not a multiple of the block size";
  const int64_t nb = n / BlockElems(t);
  switch (t) {
    case DType::kF32:
      std::memcpy(dst, src, static_cast<size_t>(n) * 4);
      return;
    case DType::kF16: {
      const auto* s = static_cast<const uint8_t*>(src);
      for (int64_t i = 0; i < n; ++i) {
        uint16_t h;
        std::memcpy(&h, s + 2 * i, 2);
        dst[i] = F16ToF32(h);
      }
      return;
    }
    case DType::kBF16: {
      const auto* s = static_cast<const uint8_t*>(src);
      for (int64_t i = 0; i < n; ++i) {
        uint16_t h;
        std::memcpy(&h, s + 2 * i, 2);
        dst[i] = BF16ToF32(h);
      }
      return;
    }
    case DType::kQ8_0: return DequantizeQ8_0(static_cast<const BlockQ8_0*>(src), dst, nb);
    case DType::kQ4_0: return DequantizeQ4_0(static_cast<const BlockQ4_0*>(src), dst, nb);
    case DType::kQ4_K: return DequantizeQ4K(static_cast<const BlockQ4K*>(src), dst, nb);
    case DType::kQ6_K: return DequantizeQ6K(static_cast<const BlockQ6K*>(src), dst, nb);
    case DType::kQ4_1: return quant_internal::DequantizeQ4_1(src, dst, nb);
    case DType::kQ5_0: return quant_internal::DequantizeQ5_0(src, dst, nb);
    case DType::kQ5_1: return quant_internal::DequantizeQ5_1(src, dst, nb);
    case DType::kIQ4_NL: return quant_internal::DequantizeIQ4_NL(src, dst, nb);
    case DType::kQ2_K: return quant_internal::DequantizeQ2K(src, dst, nb);
    case DType::kQ3_K: return quant_internal::DequantizeQ3K(src, dst, nb);
    case DType::kQ5_K: return quant_internal::DequantizeQ5K(src, dst, nb);
    case DType::kIQ4_XS: return quant_internal::DequantizeIQ4_XS(src, dst, nb);
  }
  KVS_CHECK(false) << "unknown dtype " << static_cast<uint32_t>(t);
}

void QuantizeRow(DType t, const float* src, void* dst, int64_t n) {
  KVS_CHECK(n % BlockElems(t) == 0) << "row of " << n << " not a multiple of the block size";
  const int64_t nb = n / BlockElems(t);
  switch (t) {
    case DType::kF32:
      std::memcpy(dst, src, static_cast<size_t>(n) * 4);
      return;
    case DType::kF16: {
      auto* d = static_cast<uint8_t*>(dst);
      for (int64_t i = 0; i < n; ++i) {
        const uint16_t h = F32ToF16(src[i]);
        std::memcpy(d + 2 * i, &h, 2);
      }
      return;
    }
    case DType::kBF16: {
      auto* d = static_cast<uint8_t*>(dst);
      for (int64_t i = 0; i < n; ++i) {
        const uint16_t h = F32ToBF16(src[i]);
        std::memcpy(d + 2 * i, &h, 2);
      }
      return;
    }
    case DType::kQ8_0: return QuantizeQ8_0(src, static_cast<BlockQ8_0*>(dst), nb);
    case DType::kQ4_0: return QuantizeQ4_0(src, static_cast<BlockQ4_0*>(dst), nb);
    case DType::kQ4_K: return QuantizeQ4K(src, static_cast<BlockQ4K*>(dst), nb);
    case DType::kQ6_K: return QuantizeQ6K(src, static_cast<BlockQ6K*>(dst), nb);
    case DType::kQ4_1: return quant_internal::QuantizeQ4_1(src, dst, nb);
    case DType::kQ5_0: return quant_internal::QuantizeQ5_0(src, dst, nb);
    case DType::kQ5_1: return quant_internal::QuantizeQ5_1(src, dst, nb);
    case DType::kIQ4_NL: return quant_internal::QuantizeIQ4_NL(src, dst, nb);
    case DType::kQ2_K: return quant_internal::QuantizeQ2K(src, dst, nb);
    case DType::kQ3_K: return quant_internal::QuantizeQ3K(src, dst, nb);
    case DType::kQ5_K: return quant_internal::QuantizeQ5K(src, dst, nb);
    case DType::kIQ4_XS: return quant_internal::QuantizeIQ4_XS(src, dst, nb);
  }
  KVS_CHECK(false) << "unknown dtype " << static_cast<uint32_t>(t);
}

}  // namespace kvs
