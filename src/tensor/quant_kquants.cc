// Reference codecs for the 256-element super-block types Q2_K, Q3_K, Q5_K
// and IQ4_XS (layouts in docs/formats.md).
#include <algorithm>
#include <cmath>
#include <cstring>

#include "tensor/quant.h"
#include "tensor/quant_codecs.h"

namespace kvs {

// Low four bits: nibble j % 8 of bytes 0..7 (low nibbles for j < 8); top
// two bits: bits 2 * (j / 4) of byte 8 + j % 4.
int UnpackScaleK3(int j, const uint8_t* q) {
  const int low = j < 8 ? q[j] & 0xF : q[j - 8] >> 4;
  const int high = (q[8 + j % 4] >> (2 * (j / 4))) & 3;
  return low | (high << 4);
}

namespace quant_internal {
namespace {

constexpr int kQKK = 256;

struct BlockQ2K {
  uint8_t scales[16];     // per 16 elements: low nibble scale, high nibble min
  uint8_t qs[kQKK / 4];   // 2-bit codes, four per byte (see DequantizeQ2K)
  uint16_t d;             // f16 scale of the scales
  uint16_t dmin;          // f16 scale of the mins
};
struct BlockQ3K {
  uint8_t hmask[kQKK / 8];  // third bits: element 32g + l of half h is bit 4h + g of hmask[l]
  uint8_t qs[kQKK / 4];     // low two bits, as Q2_K's
  uint8_t scales[12];       // 16 x 6-bit scales (UnpackScaleK3), stored +32
  uint16_t d;
};
struct BlockQ5K {
  uint16_t d;
  uint16_t dmin;
  uint8_t scales[12];     // as Q4_K's (UnpackScaleMinK4)
  uint8_t qh[kQKK / 8];   // fifth bits: sub-block s's element l is bit s of qh[l]
  uint8_t qs[kQKK / 2];   // low four bits, as Q4_K's
};
struct BlockIQ4XS {
  uint16_t d;
  uint16_t scales_h;      // top two bits of sub-block s's scale at bits 2s
  uint8_t scales_l[4];    // low four bits: sub-block s in nibble s % 2 of byte s / 2
  uint8_t qs[kQKK / 2];   // per sub-block 16 bytes, as IQ4_NL's block
};
static_assert(sizeof(BlockQ2K) == 84);
static_assert(sizeof(BlockQ3K) == 110);
static_assert(sizeof(BlockQ5K) == 176);
static_assert(sizeof(BlockIQ4XS) == 136);

// Q2_K / Q3_K 2-bit codes: element e = 128h + 32g + l (h half, g 0..3,
// l 0..31) sits in bits 2g of qs[32h + l]. Its 16-element sub-block is e / 16.

void PackCodes2(const uint8_t q[kQKK], uint8_t qs[kQKK / 4]) {
  std::memset(qs, 0, kQKK / 4);
  for (int e = 0; e < kQKK; ++e) {
    uint8_t& byte = qs[32 * (e / 128) + e % 32];
    byte = static_cast<uint8_t>(byte | ((q[e] & 3) << (2 * ((e % 128) / 32))));
  }
}

// Per sub-block of n elements: x ~= step * q - min with q in 0..levels,
// min = -min(0, lowest), step = (highest + min) / levels.
void StepAndMin(const float* x, int n, int levels, float* step, float* min) {
  float lo = x[0], hi = x[0];
  for (int l = 1; l < n; ++l) lo = std::min(lo, x[l]), hi = std::max(hi, x[l]);
  *min = -std::min(0.f, lo);
  *step = (hi + *min) / static_cast<float>(levels);
}

// The (scale, min) pair near (sc, mn), each within +-1 and 0..max, whose
// codes 0..levels give n values x the least squared error (the first
// rounding of each alone is not always the best pair).
void RefineScaleMin(const float* x, int n, int levels, int max, float d, float dmin, int* sc, int* mn) {
  float best = INFINITY;
  int best_sc = *sc, best_mn = *mn;
  for (int s = std::max(0, *sc - 1); s <= std::min(max, *sc + 1); ++s) {
    for (int m = std::max(0, *mn - 1); m <= std::min(max, *mn + 1); ++m) {
      const float ds = d * static_cast<float>(s), ms = dmin * static_cast<float>(m);
      const float ids = ds > 0.f ? 1.f / ds : 0.f;
      float err = 0.f;
      for (int l = 0; l < n; ++l) {
        const int q = std::clamp(RoundToInt((x[l] + ms) * ids), 0, levels);
        const float e = ds * static_cast<float>(q) - ms - x[l];
        err += e * e;
      }
      if (err < best) best = err, best_sc = s, best_mn = m;
    }
  }
  *sc = best_sc;
  *mn = best_mn;
}

}  // namespace

void DequantizeQ2K(const void* src, float* y, int64_t nb) {
  const auto* b = static_cast<const BlockQ2K*>(src);
  for (int64_t i = 0; i < nb; ++i, y += kQKK) {
    const float d = F16ToF32(b[i].d), dmin = F16ToF32(b[i].dmin);
    for (int s = 0; s < 16; ++s) {
      const float dl = d * static_cast<float>(b[i].scales[s] & 0xF);
      const float ml = dmin * static_cast<float>(b[i].scales[s] >> 4);
      for (int l = 0; l < 16; ++l) {
        const int e = 16 * s + l;
        y[e] = dl * static_cast<float>(Code2(b[i].qs, e)) - ml;
      }
    }
  }
}

void DequantizeQ3K(const void* src, float* y, int64_t nb) {
  const auto* b = static_cast<const BlockQ3K*>(src);
  for (int64_t i = 0; i < nb; ++i, y += kQKK) {
    const float d = F16ToF32(b[i].d);
    for (int s = 0; s < 16; ++s) {
      const float dl = d * static_cast<float>(UnpackScaleK3(s, b[i].scales) - 32);
      for (int l = 0; l < 16; ++l) {
        const int e = 16 * s + l;
        const int high = (b[i].hmask[e % 32] >> (4 * (e / 128) + (e % 128) / 32)) & 1;
        y[e] = dl * static_cast<float>(Code2(b[i].qs, e) - (high ? 0 : 4));
      }
    }
  }
}

void DequantizeQ5K(const void* src, float* y, int64_t nb) {
  const auto* b = static_cast<const BlockQ5K*>(src);
  for (int64_t i = 0; i < nb; ++i, y += kQKK) {
    const float d = F16ToF32(b[i].d), dmin = F16ToF32(b[i].dmin);
    for (int s = 0; s < 8; ++s) {
      int sc, m;
      UnpackScaleMinK4(s, b[i].scales, &sc, &m);
      const float d1 = d * static_cast<float>(sc), m1 = dmin * static_cast<float>(m);
      const uint8_t* q = b[i].qs + 32 * (s / 2);
      for (int l = 0; l < 32; ++l) {
        const int code = ((q[l] >> (4 * (s % 2))) & 0xF) | (((b[i].qh[l] >> s) & 1) << 4);
        y[32 * s + l] = d1 * static_cast<float>(code) - m1;
      }
    }
  }
}

void DequantizeIQ4_XS(const void* src, float* y, int64_t nb) {
  const auto* b = static_cast<const BlockIQ4XS*>(src);
  for (int64_t i = 0; i < nb; ++i, y += kQKK) {
    const float d = F16ToF32(b[i].d);
    for (int s = 0; s < 8; ++s) {
      const int ls = ((b[i].scales_l[s / 2] >> (4 * (s % 2))) & 0xF) | (((b[i].scales_h >> (2 * s)) & 3) << 4);
      const float dl = d * static_cast<float>(ls - 32);
      const uint8_t* q = b[i].qs + 16 * s;
      for (int j = 0; j < 16; ++j) {
        y[32 * s + j] = dl * static_cast<float>(kIq4NlValues[q[j] & 0xF]);
        y[32 * s + j + 16] = dl * static_cast<float>(kIq4NlValues[q[j] >> 4]);
      }
    }
  }
}

// Steps and mins per 16 elements, quantized to 4 bits against the largest
// of each (the min rounded up so the lowest value stays in range), then
// each pair refined within +-1 (RefineScaleMin); codes chosen for the
// stored values.
void QuantizeQ2K(const float* x, void* dst, int64_t nb) {
  auto* b = static_cast<BlockQ2K*>(dst);
  for (int64_t i = 0; i < nb; ++i, x += kQKK) {
    float step[16], mins[16], max_step = 0.f, max_min = 0.f;
    for (int s = 0; s < 16; ++s) {
      StepAndMin(x + 16 * s, 16, 3, &step[s], &mins[s]);
      max_step = std::max(max_step, step[s]);
      max_min = std::max(max_min, mins[s]);
    }
    b[i].d = F32ToF16(max_step / 15.f);
    b[i].dmin = F32ToF16(max_min / 15.f);
    const float d = F16ToF32(b[i].d), dmin = F16ToF32(b[i].dmin);
    uint8_t q[kQKK];
    for (int s = 0; s < 16; ++s) {
      int sc = d > 0.f ? std::clamp(RoundToInt(step[s] / d), 0, 15) : 0;
      int mn = dmin > 0.f ? std::clamp(static_cast<int>(std::ceil(mins[s] / dmin)), 0, 15) : 0;
      RefineScaleMin(x + 16 * s, 16, 3, 15, d, dmin, &sc, &mn);
      b[i].scales[s] = static_cast<uint8_t>(sc | (mn << 4));
      const float ds = d * static_cast<float>(sc), ms = dmin * static_cast<float>(mn);
      const float ids = ds > 0.f ? 1.f / ds : 0.f;
      for (int l = 0; l < 16; ++l) {
        q[16 * s + l] = static_cast<uint8_t>(std::clamp(RoundToInt((x[16 * s + l] + ms) * ids), 0, 3));
      }
    }
    PackCodes2(q, b[i].qs);
  }
}

// As Q6_K: per 16 elements a signed step mapping the largest-magnitude value
// to code -4; steps quantized to 6 bits (-31..31) against the largest,
// each refined within +-1.
void QuantizeQ3K(const float* x, void* dst, int64_t nb) {
  auto* b = static_cast<BlockQ3K*>(dst);
  for (int64_t i = 0; i < nb; ++i, x += kQKK) {
    float step[16], max_abs_step = 0.f;
    for (int s = 0; s < 16; ++s) {
      float max = 0.f;
      for (int l = 0; l < 16; ++l) {
        if (std::fabs(x[16 * s + l]) > std::fabs(max)) max = x[16 * s + l];
      }
      step[s] = max / -4.f;
      max_abs_step = std::max(max_abs_step, std::fabs(step[s]));
    }
    b[i].d = F32ToF16(max_abs_step / 31.f);
    const float d = F16ToF32(b[i].d);
    uint8_t sc6[16], q[kQKK];
    std::memset(b[i].hmask, 0, sizeof(b[i].hmask));
    for (int s = 0; s < 16; ++s) {
      int sc = d > 0.f ? std::clamp(RoundToInt(step[s] / d), -32, 31) : 0;
      // Refine within +-1: the rounded step is not always the best one.
      float best = INFINITY;
      int best_sc = sc;
      for (int c = std::max(-32, sc - 1); c <= std::min(31, sc + 1); ++c) {
        const float dc = d * static_cast<float>(c);
        const float idc = dc != 0.f ? 1.f / dc : 0.f;
        float err = 0.f;
        for (int l = 0; l < 16; ++l) {
          const float e = dc * static_cast<float>(std::clamp(RoundToInt(x[16 * s + l] * idc), -4, 3)) - x[16 * s + l];
          err += e * e;
        }
        if (err < best) best = err, best_sc = c;
      }
      sc = best_sc;
      sc6[s] = static_cast<uint8_t>(sc + 32);
      const float ds = d * static_cast<float>(sc);
      const float ids = ds != 0.f ? 1.f / ds : 0.f;
      for (int l = 0; l < 16; ++l) {
        const int e = 16 * s + l;
        const int u = std::clamp(RoundToInt(x[e] * ids), -4, 3) + 4;  // 0..7
        q[e] = static_cast<uint8_t>(u & 3);
        if (u >= 4) b[i].hmask[e % 32] = static_cast<uint8_t>(b[i].hmask[e % 32] | (1 << (4 * (e / 128) + (e % 128) / 32)));
      }
    }
    PackCodes2(q, b[i].qs);
    std::memset(b[i].scales, 0, sizeof(b[i].scales));
    for (int s = 0; s < 16; ++s) {
      uint8_t& low = b[i].scales[s % 8];
      low = static_cast<uint8_t>(low | ((sc6[s] & 0xF) << (s < 8 ? 0 : 4)));
      uint8_t& high = b[i].scales[8 + s % 4];
      high = static_cast<uint8_t>(high | ((sc6[s] >> 4) << (2 * (s / 4))));
    }
  }
}

// As Q4_K, with codes 0..31, each (scale, min) pair refined within +-1.
void QuantizeQ5K(const float* x, void* dst, int64_t nb) {
  auto* b = static_cast<BlockQ5K*>(dst);
  for (int64_t i = 0; i < nb; ++i, x += kQKK) {
    float step[8], mins[8], max_step = 0.f, max_min = 0.f;
    for (int s = 0; s < 8; ++s) {
      StepAndMin(x + 32 * s, 32, 31, &step[s], &mins[s]);
      max_step = std::max(max_step, step[s]);
      max_min = std::max(max_min, mins[s]);
    }
    b[i].d = F32ToF16(max_step / 63.f);
    b[i].dmin = F32ToF16(max_min / 63.f);
    const float d = F16ToF32(b[i].d), dmin = F16ToF32(b[i].dmin);
    uint8_t sc[8], mn[8];
    for (int s = 0; s < 8; ++s) {
      int scale = d > 0.f ? std::clamp(RoundToInt(step[s] / d), 0, 63) : 0;
      int min = dmin > 0.f ? std::clamp(static_cast<int>(std::ceil(mins[s] / dmin)), 0, 63) : 0;
      RefineScaleMin(x + 32 * s, 32, 31, 63, d, dmin, &scale, &min);
      sc[s] = static_cast<uint8_t>(scale);
      mn[s] = static_cast<uint8_t>(min);
    }
    for (int j = 0; j < 4; ++j) {  // Q4_K's packing (see UnpackScaleMinK4)
      b[i].scales[j] = static_cast<uint8_t>(sc[j] | ((sc[j + 4] >> 4) << 6));
      b[i].scales[j + 4] = static_cast<uint8_t>(mn[j] | ((mn[j + 4] >> 4) << 6));
      b[i].scales[j + 8] = static_cast<uint8_t>((sc[j + 4] & 0xF) | ((mn[j + 4] & 0xF) << 4));
    }
    std::memset(b[i].qh, 0, sizeof(b[i].qh));
    std::memset(b[i].qs, 0, sizeof(b[i].qs));
    for (int s = 0; s < 8; ++s) {
      const float ds = d * sc[s], ms = dmin * mn[s];
      const float ids = ds > 0.f ? 1.f / ds : 0.f;
      for (int l = 0; l < 32; ++l) {
        const int q = std::clamp(RoundToInt((x[32 * s + l] + ms) * ids), 0, 31);
        b[i].qs[32 * (s / 2) + l] = static_cast<uint8_t>(b[i].qs[32 * (s / 2) + l] | ((q & 0xF) << (4 * (s % 2))));
        b[i].qh[l] = static_cast<uint8_t>(b[i].qh[l] | ((q >> 4) << s));
      }
    }
  }
}

// Per 32 elements IQ4_NL's scale search; the eight scales are then stored
// as 6-bit multiples (-32..31) of a block scale that maps the
// largest-magnitude one to -32, and the indices re-chosen against each
// stored sub-block scale.
void QuantizeIQ4_XS(const float* x, void* dst, int64_t nb) {
  auto* b = static_cast<BlockIQ4XS*>(dst);
  for (int64_t i = 0; i < nb; ++i, x += kQKK) {
    float sub[8], max = 0.f;
    uint8_t idx[32];
    for (int s = 0; s < 8; ++s) {
      sub[s] = SearchIq4NlScale(x + 32 * s, 32, idx);
      if (std::fabs(sub[s]) > std::fabs(max)) max = sub[s];
    }
    b[i].d = F32ToF16(max / -32.f);
    const float d = F16ToF32(b[i].d);
    b[i].scales_h = 0;
    std::memset(b[i].scales_l, 0, sizeof(b[i].scales_l));
    for (int s = 0; s < 8; ++s) {
      const int l = d != 0.f ? std::clamp(RoundToInt(sub[s] / d), -32, 31) : 0;
      const int ls = l + 32;
      b[i].scales_l[s / 2] = static_cast<uint8_t>(b[i].scales_l[s / 2] | ((ls & 0xF) << (4 * (s % 2))));
      b[i].scales_h = static_cast<uint16_t>(b[i].scales_h | ((ls >> 4) << (2 * s)));
      const float dl = d * static_cast<float>(l);
      for (int j = 0; j < 32; ++j) {
        idx[j] = static_cast<uint8_t>(NearestIq4Nl(dl != 0.f ? x[32 * s + j] / dl : 0.f));
      }
      for (int j = 0; j < 16; ++j) b[i].qs[16 * s + j] = static_cast<uint8_t>(idx[j] | (idx[j + 16] << 4));
    }
  }
}

}  // namespace quant_internal
}  // namespace kvs
