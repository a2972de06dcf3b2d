// Part of simd_kernels-inl.h: vector primitives (float and integer) that
// hide the AVX-512 / AVX2 difference from the kernels.
#pragma once
#ifndef KVS_SIMD_NS
#error "include backend/cpu/simd_kernels-inl.h, not this part"
#endif

#include <immintrin.h>

#include <cstdint>
#include <cstring>

#include "backend/cpu/blocks.h"
#include "backend/cpu/kernels.h"

namespace kvs::cpu::KVS_SIMD_NS {
namespace {

// Tile loops over R, C and sub-blocks must unroll completely so that the
// accumulators live in registers; -O2 alone leaves them as loops over
// stack arrays (measured: 3-4x slower).
#define KVS_UNROLL _Pragma("GCC unroll 16")

// ---------------------------------------------------------------- float ops

inline float Hsum8(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

inline float Hmax8(__m256 v) {
  __m128 s = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_max_ps(s, _mm_movehl_ps(s, s));
  s = _mm_max_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

#if defined(__AVX512F__)
constexpr int kW = 16;
using VF = __m512;
inline __mmask16 MaskN(int n) { return static_cast<__mmask16>((1u << n) - 1); }
inline VF VZero() { return _mm512_setzero_ps(); }
inline VF VSet1(float f) { return _mm512_set1_ps(f); }
inline VF VLoad(const float* p) { return _mm512_loadu_ps(p); }
inline VF VLoadN(const float* p, int n) { return _mm512_maskz_loadu_ps(MaskN(n), p); }
inline void VStore(float* p, VF v) { _mm512_storeu_ps(p, v); }
inline void VStoreN(float* p, VF v, int n) { _mm512_mask_storeu_ps(p, MaskN(n), v); }
inline VF VLoadF16(const uint16_t* p) {
  return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
}
inline VF VLoadBF16(const uint16_t* p) {
  const __m512i h = _mm512_cvtepu16_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
  return _mm512_castsi512_ps(_mm512_slli_epi32(h, 16));
}
inline VF VFma(VF a, VF b, VF c) { return _mm512_fmadd_ps(a, b, c); }
inline VF VMul(VF a, VF b) { return _mm512_mul_ps(a, b); }
inline VF VAdd(VF a, VF b) { return _mm512_add_ps(a, b); }
inline VF VSub(VF a, VF b) { return _mm512_sub_ps(a, b); }
inline VF VDiv(VF a, VF b) { return _mm512_div_ps(a, b); }
inline VF VMax(VF a, VF b) { return _mm512_max_ps(a, b); }
inline VF VMin(VF a, VF b) { return _mm512_min_ps(a, b); }
inline VF VAbs(VF a) { return _mm512_abs_ps(a); }
inline VF VRound(VF a) { return _mm512_roundscale_ps(a, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }
inline VF VScale2(VF p, VF k) { return _mm512_scalef_ps(p, k); }  // p * 2^k
inline float VHsum(VF v) {
  return Hsum8(_mm256_add_ps(_mm512_castps512_ps256(v), _mm512_extractf32x8_ps(v, 1)));
}
// VHsum of 16 vectors at once: lane i of the result is VHsum(v[i]) bit for
// bit. The same tree of additions (lane j with j + 8, then j + 4, j + 2,
// j + 1), each stage on the partial sums of several vectors packed into
// the lanes one VHsum leaves idle: 45 instructions for 16 sums, against
// eight and a scalar store each. After the four stages lane 4q + l holds
// the input at position 4l + q, so v[i] goes in at position 4 (i % 4) +
// i / 4 (the same map: a 4 x 4 transpose).
inline VF VHsum16(const VF (&v)[16]) {
  auto at = [&](int p) { return v[4 * (p % 4) + p / 4]; };
  VF a[8], b[4], c[2];
  KVS_UNROLL
  for (int j = 0; j < 8; ++j) {  // lanes 0..7: lane l + lane l + 8 of one input; 8..15: the next's
    const VF x = at(2 * j), y = at(2 * j + 1);
    a[j] = _mm512_add_ps(_mm512_shuffle_f32x4(x, y, 0x44), _mm512_shuffle_f32x4(x, y, 0xEE));
  }
  KVS_UNROLL
  for (int k = 0; k < 4; ++k)  // 128-bit chunk q: position 4k + q, l + (l + 4)
    b[k] = _mm512_add_ps(_mm512_shuffle_f32x4(a[2 * k], a[2 * k + 1], 0x88),
                         _mm512_shuffle_f32x4(a[2 * k], a[2 * k + 1], 0xDD));
  KVS_UNROLL
  for (int m = 0; m < 2; ++m)  // chunk q: positions 8m + q and 8m + 4 + q, two lanes each
    c[m] = _mm512_add_ps(_mm512_shuffle_ps(b[2 * m], b[2 * m + 1], 0x44),
                         _mm512_shuffle_ps(b[2 * m], b[2 * m + 1], 0xEE));
  return _mm512_add_ps(_mm512_shuffle_ps(c[0], c[1], 0x88), _mm512_shuffle_ps(c[0], c[1], 0xDD));
}
inline float VHmax(VF v) {
  return Hmax8(_mm256_max_ps(_mm512_castps512_ps256(v), _mm512_extractf32x8_ps(v, 1)));
}
// Rounds to int (nearest even) and stores kW saturated int8s.
inline void VStoreI8(int8_t* dst, VF v) {
  _mm_storeu_si128(reinterpret_cast<__m128i*>(dst), _mm512_cvtsepi32_epi8(_mm512_cvtps_epi32(v)));
}
#else
constexpr int kW = 8;
using VF = __m256;
inline __m256i MaskN(int n) {
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}
inline VF VZero() { return _mm256_setzero_ps(); }
inline VF VSet1(float f) { return _mm256_set1_ps(f); }
inline VF VLoad(const float* p) { return _mm256_loadu_ps(p); }
inline VF VLoadN(const float* p, int n) { return _mm256_maskload_ps(p, MaskN(n)); }
inline void VStore(float* p, VF v) { _mm256_storeu_ps(p, v); }
inline void VStoreN(float* p, VF v, int n) { _mm256_maskstore_ps(p, MaskN(n), v); }
inline VF VLoadF16(const uint16_t* p) {
  return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
}
inline VF VLoadBF16(const uint16_t* p) {
  const __m256i h = _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
  return _mm256_castsi256_ps(_mm256_slli_epi32(h, 16));
}
inline VF VFma(VF a, VF b, VF c) { return _mm256_fmadd_ps(a, b, c); }
inline VF VMul(VF a, VF b) { return _mm256_mul_ps(a, b); }
inline VF VAdd(VF a, VF b) { return _mm256_add_ps(a, b); }
inline VF VSub(VF a, VF b) { return _mm256_sub_ps(a, b); }
inline VF VDiv(VF a, VF b) { return _mm256_div_ps(a, b); }
inline VF VMax(VF a, VF b) { return _mm256_max_ps(a, b); }
inline VF VMin(VF a, VF b) { return _mm256_min_ps(a, b); }
inline VF VAbs(VF a) { return _mm256_andnot_ps(_mm256_set1_ps(-0.0f), a); }
inline VF VRound(VF a) { return _mm256_round_ps(a, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }
inline VF VScale2(VF p, VF k) {
  const __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(k), _mm256_set1_epi32(127)), 23);
  return _mm256_mul_ps(p, _mm256_castsi256_ps(e));
}
inline float VHsum(VF v) { return Hsum8(v); }
inline float VHmax(VF v) { return Hmax8(v); }
inline void VStoreI8(int8_t* dst, VF v) {
  const __m256i q = _mm256_cvtps_epi32(v);
  const __m128i q16 = _mm_packs_epi32(_mm256_castsi256_si128(q), _mm256_extracti128_si256(q, 1));
  _mm_storel_epi64(reinterpret_cast<__m128i*>(dst), _mm_packs_epi16(q16, q16));
}
#endif

#if defined(__AVX512F__)
// 128-bit chunk i of s (the extract wants a constant; unrolled, i is one).
inline __attribute__((always_inline)) __m128 Chunk128(VF s, int i) {
  switch (i) {
    case 0: return _mm512_castps512_ps128(s);
    case 1: return _mm512_extractf32x4_ps(s, 1);
    case 2: return _mm512_extractf32x4_ps(s, 2);
    default: return _mm512_extractf32x4_ps(s, 3);
  }
}
#endif
// A tile's results: out[(tok + c) * rows + row + r * step] = VHsum(acc[r][c]).
// On AVX-512, tiles of 6 to 16 vectors with R of 1, 2 or 4 and step 1 sum
// all their vectors together (VHsum16: the same bits), then store each
// token's R sums at once: in FoldedKernel's 4 x 3 tile over 2048 columns
// the separate sums were about 10% of the instructions.
template <class V, int R, int C>
inline __attribute__((always_inline)) void StoreTileSums(const MatMulArgs& a, int64_t row, int64_t tok,
                                                         int64_t step, const V (&acc)[R][C]) {
#if defined(__AVX512F__)
  if constexpr (R * C >= 6 && R * C <= 16 && (R == 1 || R == 2 || R == 4)) {
    if (step == 1) {
      VF v[16];
      KVS_UNROLL
      for (int i = 0; i < 16; ++i) v[i] = i < R * C ? acc[i % R][i / R] : _mm512_setzero_ps();
      const VF s = VHsum16(v);
      KVS_UNROLL
      for (int c = 0; c < C; ++c) {
        float* dst = a.out + (tok + c) * a.rows + row;
        const __m128 q = Chunk128(s, c * R / 4);  // lanes c R .. c R + R - 1
        if constexpr (R == 4) {
          _mm_storeu_ps(dst, q);
        } else if constexpr (R == 2) {
          if (c % 2 == 0) {
            _mm_storel_pi(reinterpret_cast<__m64*>(dst), q);
          } else {
            _mm_storeh_pi(reinterpret_cast<__m64*>(dst), q);
          }
        } else {
          _mm_store_ss(dst, _mm_permutevar_ps(q, _mm_set1_epi32(c % 4)));
        }
      }
      return;
    }
  }
#endif
  KVS_UNROLL
  for (int c = 0; c < C; ++c)
    KVS_UNROLL
    for (int r = 0; r < R; ++r) a.out[(tok + c) * a.rows + row + r * step] = VHsum(acc[r][c]);
}

// e^x for x in [-87, 88] (clamped outside), about 2 ulp: x = k ln2 + r,
// e^r by its Taylor polynomial to degree 7 (|r| <= ln2 / 2).
inline VF VExp(VF x) {
  x = VMin(VMax(x, VSet1(-87.0f)), VSet1(88.0f));
  const VF k = VRound(VMul(x, VSet1(1.44269504088896341f)));
  VF r = VFma(k, VSet1(-0.693145751953125f), x);
  r = VFma(k, VSet1(-1.428606765330187045e-06f), r);
  VF p = VSet1(1.0f / 5040.0f);
  p = VFma(p, r, VSet1(1.0f / 720.0f));
  p = VFma(p, r, VSet1(1.0f / 120.0f));
  p = VFma(p, r, VSet1(1.0f / 24.0f));
  p = VFma(p, r, VSet1(1.0f / 6.0f));
  p = VFma(p, r, VSet1(0.5f));
  p = VFma(p, r, VSet1(1.0f));
  p = VFma(p, r, VSet1(1.0f));
  return VScale2(p, k);
}

inline VF VLoadF16N(const uint16_t* p, int n) {
  uint16_t tmp[kW] = {};
  std::memcpy(tmp, p, n * sizeof(uint16_t));
  return VLoadF16(tmp);
}
inline VF VLoadBF16N(const uint16_t* p, int n) {
  uint16_t tmp[kW] = {};
  std::memcpy(tmp, p, n * sizeof(uint16_t));
  return VLoadBF16(tmp);
}

inline float F16(uint16_t h) { return _cvtsh_ss(h); }

// ---------------------------------------------------------------- int ops

// acc + sums of four u8 * s8 products per int32 lane.
// REQUIRES (maddubs path): no pair sum beyond int16, true for |s| <= 127.
inline __m256i DotU8S8(__m256i acc, __m256i u, __m256i s) {
#if defined(__AVX512VNNI__)
  return _mm256_dpbusd_epi32(acc, u, s);
#else
  return _mm256_add_epi32(acc, _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), _mm256_set1_epi16(1)));
#endif
}

// acc + sums of two int16 products per int32 lane.
inline __m256i DotI16(__m256i acc, __m256i a, __m256i b) {
#if defined(__AVX512VNNI__)
  return _mm256_dpwssd_epi32(acc, a, b);
#else
  return _mm256_add_epi32(acc, _mm256_madd_epi16(a, b));
#endif
}

inline __m256i Load256(const void* p) { return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)); }
inline __m128i Load128(const void* p) { return _mm_loadu_si128(reinterpret_cast<const __m128i*>(p)); }
#if defined(__AVX512F__)
inline __m512i Load512(const void* p) { return _mm512_loadu_si512(p); }
#endif

}  // namespace
}  // namespace kvs::cpu::KVS_SIMD_NS
