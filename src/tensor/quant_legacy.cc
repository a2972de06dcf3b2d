// Reference codecs for the 32-element block types Q4_1, Q5_0, Q5_1 and
// IQ4_NL (layouts in docs/formats.md). Within a block, byte j of the 4-bit
// codes holds element j in its low nibble and element j + 16 in its high
// nibble; Q5_*'s fifth bits are a little-endian 32-bit word, bit i for
// element i.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "tensor/quant.h"
#include "tensor/quant_codecs.h"

namespace kvs::quant_internal {
namespace {

constexpr int kQK = 32;

struct BlockQ4_1 {
  uint16_t d;           // f16 scale
  uint16_t m;           // f16 offset: x = d * q + m, q in 0..15
  uint8_t qs[kQK / 2];
};
struct BlockQ5_0 {
  uint16_t d;           // f16 scale: x = d * (q - 16), q in 0..31
  uint8_t qh[4];        // fifth bits
  uint8_t qs[kQK / 2];  // low four bits
};
struct BlockQ5_1 {
  uint16_t d;           // f16 scale
  uint16_t m;           // f16 offset: x = d * q + m, q in 0..31
  uint8_t qh[4];
  uint8_t qs[kQK / 2];
};
struct BlockIQ4_NL {
  uint16_t d;           // f16 scale: x = d * kIq4NlValues[q]
  uint8_t qs[kQK / 2];
};
static_assert(sizeof(BlockQ4_1) == 20);
static_assert(sizeof(BlockQ5_0) == 22);
static_assert(sizeof(BlockQ5_1) == 24);
static_assert(sizeof(BlockIQ4_NL) == 18);

// The 4-bit code of element i of a block whose codes are `qs`.
int Nibble(const uint8_t* qs, int i) { return i < kQK / 2 ? qs[i] & 0xF : qs[i - kQK / 2] >> 4; }

int FifthBit(const uint8_t qh[4], int i) { return (qh[i / 8] >> (i % 8)) & 1; }

// Packs 32 codes (0..31) into low nibbles and, if qh, fifth bits.
void PackCodes(const uint8_t q[kQK], uint8_t* qs, uint8_t* qh) {
  for (int j = 0; j < kQK / 2; ++j) qs[j] = static_cast<uint8_t>((q[j] & 0xF) | ((q[j + kQK / 2] & 0xF) << 4));
  if (qh == nullptr) return;
  std::memset(qh, 0, 4);
  for (int i = 0; i < kQK; ++i) qh[i / 8] = static_cast<uint8_t>(qh[i / 8] | ((q[i] >> 4) << (i % 8)));
}

// Asymmetric blocks (Q4_1, Q5_1): the block's minimum is the offset and the
// step spans to its maximum; codes are chosen for the stored (f16) pair.
void QuantizeMinMax(const float* x, int levels, uint16_t* d_out, uint16_t* m_out, uint8_t q[kQK]) {
  float lo = x[0], hi = x[0];
  for (int i = 1; i < kQK; ++i) lo = std::min(lo, x[i]), hi = std::max(hi, x[i]);
  *d_out = F32ToF16((hi - lo) / static_cast<float>(levels));
  *m_out = F32ToF16(lo);
  const float d = F16ToF32(*d_out), m = F16ToF32(*m_out);
  const float id = d != 0.f ? 1.f / d : 0.f;
  for (int i = 0; i < kQK; ++i) q[i] = static_cast<uint8_t>(std::clamp(RoundToInt((x[i] - m) * id), 0, levels));
}

}  // namespace

void DequantizeQ4_1(const void* src, float* y, int64_t nb) {
  const auto* b = static_cast<const BlockQ4_1*>(src);
  for (int64_t i = 0; i < nb; ++i, y += kQK) {
    const float d = F16ToF32(b[i].d), m = F16ToF32(b[i].m);
    for (int j = 0; j < kQK; ++j) y[j] = d * static_cast<float>(Nibble(b[i].qs, j)) + m;
  }
}

void DequantizeQ5_0(const void* src, float* y, int64_t nb) {
  const auto* b = static_cast<const BlockQ5_0*>(src);
  for (int64_t i = 0; i < nb; ++i, y += kQK) {
    const float d = F16ToF32(b[i].d);
    for (int j = 0; j < kQK; ++j) {
      y[j] = d * static_cast<float>((Nibble(b[i].qs, j) | (FifthBit(b[i].qh, j) << 4)) - 16);
    }
  }
}

void DequantizeQ5_1(const void* src, float* y, int64_t nb) {
  const auto* b = static_cast<const BlockQ5_1*>(src);
  for (int64_t i = 0; i < nb; ++i, y += kQK) {
    const float d = F16ToF32(b[i].d), m = F16ToF32(b[i].m);
    for (int j = 0; j < kQK; ++j) {
      y[j] = d * static_cast<float>(Nibble(b[i].qs, j) | (FifthBit(b[i].qh, j) << 4)) + m;
    }
  }
}

void DequantizeIQ4_NL(const void* src, float* y, int64_t nb) {
  const auto* b = static_cast<const BlockIQ4_NL*>(src);
  for (int64_t i = 0; i < nb; ++i, y += kQK) {
    const float d = F16ToF32(b[i].d);
    for (int j = 0; j < kQK; ++j) y[j] = d * static_cast<float>(kIq4NlValues[Nibble(b[i].qs, j)]);
  }
}

void QuantizeQ4_1(const float* x, void* dst, int64_t nb) {
  auto* b = static_cast<BlockQ4_1*>(dst);
  for (int64_t i = 0; i < nb; ++i, x += kQK) {
    uint8_t q[kQK];
    QuantizeMinMax(x, 15, &b[i].d, &b[i].m, q);
    PackCodes(q, b[i].qs, nullptr);
  }
}

void QuantizeQ5_1(const float* x, void* dst, int64_t nb) {
  auto* b = static_cast<BlockQ5_1*>(dst);
  for (int64_t i = 0; i < nb; ++i, x += kQK) {
    uint8_t q[kQK];
    QuantizeMinMax(x, 31, &b[i].d, &b[i].m, q);
    PackCodes(q, b[i].qs, b[i].qh);
  }
}

// As Q4_0: the value of largest magnitude maps to code 0 (-16), exactly.
void QuantizeQ5_0(const float* x, void* dst, int64_t nb) {
  auto* b = static_cast<BlockQ5_0*>(dst);
  for (int64_t i = 0; i < nb; ++i, x += kQK) {
    float max = 0.f;
    for (int j = 0; j < kQK; ++j) {
      if (std::fabs(x[j]) > std::fabs(max)) max = x[j];
    }
    b[i].d = F32ToF16(max / -16.f);
    const float d = F16ToF32(b[i].d);
    const float id = d != 0.f ? 1.f / d : 0.f;
    uint8_t q[kQK];
    for (int j = 0; j < kQK; ++j) q[j] = static_cast<uint8_t>(std::clamp(RoundToInt(x[j] * id) + 16, 0, 31));
    PackCodes(q, b[i].qs, b[i].qh);
  }
}

// Binary search over the midpoints between neighbouring table values (the
// table is sorted): the index is the number of midpoints below v, so v on a
// midpoint takes the lower index. It runs once per element and candidate
// scale, so it sets the speed of IQ4 quantization.
int NearestIq4Nl(float v) {
  static constexpr float kMid[15] = {
      (kIq4NlValues[0] + kIq4NlValues[1]) / 2.f,   (kIq4NlValues[1] + kIq4NlValues[2]) / 2.f,
      (kIq4NlValues[2] + kIq4NlValues[3]) / 2.f,   (kIq4NlValues[3] + kIq4NlValues[4]) / 2.f,
      (kIq4NlValues[4] + kIq4NlValues[5]) / 2.f,   (kIq4NlValues[5] + kIq4NlValues[6]) / 2.f,
      (kIq4NlValues[6] + kIq4NlValues[7]) / 2.f,   (kIq4NlValues[7] + kIq4NlValues[8]) / 2.f,
      (kIq4NlValues[8] + kIq4NlValues[9]) / 2.f,   (kIq4NlValues[9] + kIq4NlValues[10]) / 2.f,
      (kIq4NlValues[10] + kIq4NlValues[11]) / 2.f, (kIq4NlValues[11] + kIq4NlValues[12]) / 2.f,
      (kIq4NlValues[12] + kIq4NlValues[13]) / 2.f, (kIq4NlValues[13] + kIq4NlValues[14]) / 2.f,
      (kIq4NlValues[14] + kIq4NlValues[15]) / 2.f};
  return static_cast<int>(std::lower_bound(kMid, kMid + 15, v) - kMid);
}

// Candidates map the largest-magnitude value m onto -127 + 2k or 113 - 2k
// (k = 0..7): the grid's two ends and a little inside them.
float SearchIq4NlScale(const float* x, int n, uint8_t* idx) {
  float max = 0.f;
  for (int j = 0; j < n; ++j) {
    if (std::fabs(x[j]) > std::fabs(max)) max = x[j];
  }
  if (max == 0.f) {
    for (int j = 0; j < n; ++j) idx[j] = static_cast<uint8_t>(NearestIq4Nl(0.f));
    return 0.f;
  }
  float best_d = 0.f, best_err = INFINITY;
  for (int end = 0; end < 2; ++end) {
    for (int k = 0; k < 8; ++k) {
      const float target = end == 0 ? -127.f + 2.f * k : 113.f - 2.f * k;
      const float d = max / target;
      const float id = 1.f / d;
      float err = 0.f;
      for (int j = 0; j < n; ++j) {
        const float e = x[j] - d * kIq4NlValues[NearestIq4Nl(x[j] * id)];
        err += e * e;
      }
      if (err < best_err) best_err = err, best_d = d;
    }
  }
  const float id = 1.f / best_d;
  for (int j = 0; j < n; ++j) idx[j] = static_cast<uint8_t>(NearestIq4Nl(x[j] * id));
  return best_d;
}

void QuantizeIQ4_NL(const float* x, void* dst, int64_t nb) {
  auto* b = static_cast<BlockIQ4_NL*>(dst);
  for (int64_t i = 0; i < nb; ++i, x += kQK) {
    uint8_t q[kQK];
    b[i].d = F32ToF16(SearchIq4NlScale(x, kQK, q));
    const float d = F16ToF32(b[i].d);
    if (d != 0.f) {
      for (int j = 0; j < kQK; ++j) q[j] = static_cast<uint8_t>(NearestIq4Nl(x[j] / d));
    }
    PackCodes(q, b[i].qs, nullptr);
  }
}

}  // namespace kvs::quant_internal
