#include "backend/cpu/scalar_dots.h"

#include "backend/cpu/blocks.h"
#include "tensor/quant.h"
#include "tensor/quant_codecs.h"

namespace kvs::cpu {
namespace {

int Nibble(const uint8_t* qs, int i) { return i < 16 ? qs[i] & 0xF : qs[i - 16] >> 4; }
int FifthBit(const uint8_t qh[4], int i) { return (qh[i / 8] >> (i % 8)) & 1; }

// x = d * q + m: sum_i x_i a_i = d dx sum q_i qa_i + m dx sum qa_i.
template <class Block, bool kFive>
float DotWithMin(const uint8_t* wrow, const uint8_t* xrow, int64_t cols) {
  const auto* w = reinterpret_cast<const Block*>(wrow);
  const auto* x = reinterpret_cast<const ABlockQ8*>(xrow);
  float acc = 0.0f;
  for (int64_t b = 0; b < cols / kQ8Elems; ++b) {
    int32_t isum = 0, xsum = 0;
    for (int i = 0; i < kQ8Elems; ++i) {
      int q = Nibble(w[b].qs, i);
      if constexpr (kFive) q |= FifthBit(w[b].qh, i) << 4;
      isum += q * x[b].qs[i];
      xsum += x[b].qs[i];
    }
    acc += static_cast<float>(isum) * (F16ToF32(w[b].d) * x[b].d) +
           static_cast<float>(xsum) * (F16ToF32(w[b].m) * x[b].d);
  }
  return acc;
}

float DotQ5_0(const uint8_t* wrow, const uint8_t* xrow, int64_t cols) {
  const auto* w = reinterpret_cast<const WBlockQ5_0*>(wrow);
  const auto* x = reinterpret_cast<const ABlockQ8*>(xrow);
  float acc = 0.0f;
  for (int64_t b = 0; b < cols / kQ8Elems; ++b) {
    int32_t isum = 0;
    for (int i = 0; i < kQ8Elems; ++i) {
      isum += ((Nibble(w[b].qs, i) | (FifthBit(w[b].qh, i) << 4)) - 16) * x[b].qs[i];
    }
    acc += static_cast<float>(isum) * (F16ToF32(w[b].d) * x[b].d);
  }
  return acc;
}

float DotIQ4NL(const uint8_t* wrow, const uint8_t* xrow, int64_t cols) {
  const auto* w = reinterpret_cast<const WBlockIQ4NL*>(wrow);
  const auto* x = reinterpret_cast<const ABlockQ8*>(xrow);
  float acc = 0.0f;
  for (int64_t b = 0; b < cols / kQ8Elems; ++b) {
    int32_t isum = 0;
    for (int i = 0; i < kQ8Elems; ++i) isum += kIq4NlValues[Nibble(w[b].qs, i)] * x[b].qs[i];
    acc += static_cast<float>(isum) * (F16ToF32(w[b].d) * x[b].d);
  }
  return acc;
}

using quant_internal::Code2;  // Q2_K / Q3_K two-bit codes (tensor/quant_codecs.h)

float DotQ2K(const uint8_t* wrow, const uint8_t* xrow, int64_t cols) {
  const auto* w = reinterpret_cast<const WBlockQ2K*>(wrow);
  const auto* x = reinterpret_cast<const ABlockQ8K*>(xrow);
  float acc = 0.0f, acc_min = 0.0f;
  for (int64_t b = 0; b < cols / kQKElems; ++b) {
    int32_t isum = 0, msum = 0;
    for (int s = 0; s < 16; ++s) {
      int32_t dot = 0;
      for (int l = 0; l < 16; ++l) dot += Code2(w[b].qs, 16 * s + l) * x[b].qs[16 * s + l];
      isum += (w[b].scales[s] & 0xF) * dot;
      msum += (w[b].scales[s] >> 4) * x[b].bsums[s];
    }
    acc += static_cast<float>(isum) * (F16ToF32(w[b].d) * x[b].d);
    acc_min += static_cast<float>(msum) * (F16ToF32(w[b].dmin) * x[b].d);
  }
  return acc - acc_min;
}

float DotQ3K(const uint8_t* wrow, const uint8_t* xrow, int64_t cols) {
  const auto* w = reinterpret_cast<const WBlockQ3K*>(wrow);
  const auto* x = reinterpret_cast<const ABlockQ8K*>(xrow);
  float acc = 0.0f;
  for (int64_t b = 0; b < cols / kQKElems; ++b) {
    int32_t isum = 0;
    for (int s = 0; s < 16; ++s) {
      int32_t dot = 0;
      for (int l = 0; l < 16; ++l) {
        const int e = 16 * s + l;
        const int high = (w[b].hmask[e % 32] >> (4 * (e / 128) + (e % 128) / 32)) & 1;
        dot += (Code2(w[b].qs, e) - (high ? 0 : 4)) * x[b].qs[e];
      }
      isum += (UnpackScaleK3(s, w[b].scales) - 32) * dot;
    }
    acc += static_cast<float>(isum) * (F16ToF32(w[b].d) * x[b].d);
  }
  return acc;
}

float DotQ5K(const uint8_t* wrow, const uint8_t* xrow, int64_t cols) {
  const auto* w = reinterpret_cast<const WBlockQ5K*>(wrow);
  const auto* x = reinterpret_cast<const ABlockQ8K*>(xrow);
  float acc = 0.0f, acc_min = 0.0f;
  for (int64_t b = 0; b < cols / kQKElems; ++b) {
    int32_t isum = 0, msum = 0;
    for (int s = 0; s < 8; ++s) {
      int sc, m;
      UnpackScaleMinK4(s, w[b].scales, &sc, &m);
      const uint8_t* q = w[b].qs + 32 * (s / 2);
      int32_t dot = 0;
      for (int l = 0; l < 32; ++l) {
        const int code = ((q[l] >> (4 * (s % 2))) & 15) | (((w[b].qh[l] >> s) & 1) << 4);
        dot += code * x[b].qs[32 * s + l];
      }
      isum += sc * dot;
      msum += m * (x[b].bsums[2 * s] + x[b].bsums[2 * s + 1]);
    }
    acc += static_cast<float>(isum) * (F16ToF32(w[b].d) * x[b].d);
    acc_min += static_cast<float>(msum) * (F16ToF32(w[b].dmin) * x[b].d);
  }
  return acc - acc_min;
}

float DotIQ4XS(const uint8_t* wrow, const uint8_t* xrow, int64_t cols) {
  const auto* w = reinterpret_cast<const WBlockIQ4XS*>(wrow);
  const auto* x = reinterpret_cast<const ABlockQ8K*>(xrow);
  float acc = 0.0f;
  for (int64_t b = 0; b < cols / kQKElems; ++b) {
    int32_t isum = 0;
    for (int s = 0; s < 8; ++s) {
      const int ls = ((w[b].scales_l[s / 2] >> (4 * (s % 2))) & 0xF) | (((w[b].scales_h >> (2 * s)) & 3) << 4);
      int32_t dot = 0;
      for (int l = 0; l < 32; ++l) dot += kIq4NlValues[Nibble(w[b].qs + 16 * s, l)] * x[b].qs[32 * s + l];
      isum += (ls - 32) * dot;
    }
    acc += static_cast<float>(isum) * (F16ToF32(w[b].d) * x[b].d);
  }
  return acc;
}

}  // namespace

ScalarDotFn ScalarDotFor(DType t) {
  switch (t) {
    case DType::kQ4_1: return DotWithMin<WBlockQ4_1, false>;
    case DType::kQ5_1: return DotWithMin<WBlockQ5_1, true>;
    case DType::kQ5_0: return DotQ5_0;
    case DType::kIQ4_NL: return DotIQ4NL;
    case DType::kQ2_K: return DotQ2K;
    case DType::kQ3_K: return DotQ3K;
    case DType::kQ5_K: return DotQ5K;
    case DType::kIQ4_XS: return DotIQ4XS;
    default: return nullptr;
  }
}

}  // namespace kvs::cpu
