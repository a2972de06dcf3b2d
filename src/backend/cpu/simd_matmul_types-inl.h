// Part of simd_kernels-inl.h: MatMul tiles of the block types Q4_1, Q5_0,
// Q5_1, IQ4_NL (32-element blocks, through simd_matmul-inl.h's Q32Kernel)
// and Q2_K, Q3_K, Q4_K, Q5_K, IQ4_XS (256-element super-blocks against ABlockQ8K
// activations). The arithmetic is scalar_dots.cc's: integer dots per block
// or sub-block (maddubs / VNNI), scaled in float once per block; offsets
// (mins, Q3_K's -4) go through the activation's 16-element sums.
// Exempt from the 400-line guideline as a SIMD kernel file.
#pragma once
#ifndef KVS_SIMD_NS
#error "include backend/cpu/simd_kernels-inl.h, not this part"
#endif

#include "backend/cpu/simd_matmul-inl.h"
#include "tensor/quant.h"

namespace kvs::cpu::KVS_SIMD_NS {
namespace {

// ---------------------------------------------------------------- 32-element blocks

// Low nibbles of 16 bytes as elements 0..15, high nibbles as 16..31.
inline __m256i Nibbles32(const uint8_t* qs) {
  const __m128i v = Load128(qs);
  const __m128i m4 = _mm_set1_epi8(15);
  return _mm256_set_m128i(_mm_and_si128(_mm_srli_epi16(v, 4), m4), _mm_and_si128(v, m4));
}

// 0x10 in byte i where bit i of the 32-bit little-endian word qh is set.
inline __m256i FifthBits(const uint8_t* qh) {
  uint32_t bits;
  std::memcpy(&bits, qh, 4);
  const __m256i spread = _mm256_shuffle_epi8(
      _mm256_set1_epi32(static_cast<int32_t>(bits)),
      _mm256_setr_epi8(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3,
                       3, 3, 3, 3));
  const __m256i bit = _mm256_set1_epi64x(0x8040201008040201);
  return _mm256_and_si256(_mm256_cmpeq_epi8(_mm256_and_si256(spread, bit), bit), _mm256_set1_epi8(0x10));
}

inline __m256i Iq4NlTable() {
  return _mm256_broadcastsi128_si256(Load128(kIq4NlValues));
}

struct UnpackQ4_1 {
  using Block = WBlockQ4_1;
  static constexpr bool kSigned = false, kHasMin = true;
  static constexpr int kMid = 8;
  static __m256i Q(const Block& b) { return Nibbles32(b.qs); }
};
struct UnpackQ5_0 {
  using Block = WBlockQ5_0;
  static constexpr bool kSigned = true, kHasMin = false;
  static __m256i Q(const Block& b) {
    return _mm256_sub_epi8(_mm256_or_si256(Nibbles32(b.qs), FifthBits(b.qh)), _mm256_set1_epi8(16));
  }
};
struct UnpackQ5_1 {
  using Block = WBlockQ5_1;
  static constexpr bool kSigned = false, kHasMin = true;
  static constexpr int kMid = 16;
  static __m256i Q(const Block& b) { return _mm256_or_si256(Nibbles32(b.qs), FifthBits(b.qh)); }
};
struct UnpackIQ4NL {
  using Block = WBlockIQ4NL;
  static constexpr bool kSigned = true, kHasMin = false;
  static __m256i Q(const Block& b) { return _mm256_shuffle_epi8(Iq4NlTable(), Nibbles32(b.qs)); }
};

#if defined(__AVX512VNNI__)
// The same four types through Q32KernelVnni (four blocks per step against
// QuantizeRowQ32Vnni's activations): U::Q unpacks each block, whose low /
// high 16 codes become 128-bit lane k of wlo / whi. Unsigned codes (Q4_1,
// Q5_1) are made signed, q - U::kMid, and the min absorbs it:
// d q + m = d (q - kMid) + (m + kMid d).
template <class U>
struct UnpackGroupLoader {
  using Block = typename U::Block;
  static constexpr int64_t kBlockBytes = sizeof(Block);
  static constexpr bool kHasMin = U::kHasMin;

  template <int K>
  static inline __attribute__((always_inline)) void One(const uint8_t* w, __m512i* lo, __m512i* hi, float* d,
                                                        float* m) {
    const Block& b = *reinterpret_cast<const Block*>(w + K * kBlockBytes);
    __m256i q = U::Q(b);
    if constexpr (!U::kSigned) q = _mm256_sub_epi8(q, _mm256_set1_epi8(U::kMid));
    *lo = _mm512_inserti32x4(*lo, _mm256_castsi256_si128(q), K);
    *hi = _mm512_inserti32x4(*hi, _mm256_extracti128_si256(q, 1), K);
    d[K] = F16(b.d);
    if constexpr (U::kHasMin) m[K] = F16(b.m) + static_cast<float>(U::kMid) * d[K];
  }

  template <bool kFull>
  static inline __attribute__((always_inline)) void Load(const uint8_t* w, int64_t pf, int g, __m512i* wlo,
                                                         __m512i* whi, __m512i* ncorr, __m512* dw, __m512* mw) {
    __m512i lo = _mm512_setzero_si512(), hi = _mm512_setzero_si512();
    alignas(16) float d[4] = {}, m[4] = {};
    if (kFull) Prefetch(pf, w), Prefetch(pf, w + 64);
    One<0>(w, &lo, &hi, d, m);
    if (kFull || g > 1) One<1>(w, &lo, &hi, d, m);
    if (kFull || g > 2) One<2>(w, &lo, &hi, d, m);
    if (kFull || g > 3) One<3>(w, &lo, &hi, d, m);
    *wlo = lo;
    *whi = hi;
    const __m512i c128 = _mm512_set1_epi8(-128);
    *ncorr = _mm512_sub_epi32(_mm512_setzero_si512(),
                              _mm512_dpbusd_epi32(_mm512_dpbusd_epi32(_mm512_setzero_si512(), c128, lo), c128, hi));
    const __m512i lanes = _mm512_load_si512(kQ32XIdx);
    *dw = _mm512_permutexvar_ps(lanes, _mm512_castps128_ps512(_mm_load_ps(d)));
    if constexpr (U::kHasMin) *mw = _mm512_permutexvar_ps(lanes, _mm512_castps128_ps512(_mm_load_ps(m)));
  }
};
#endif

#if defined(__AVX512VNNI__)
// Packed Q2_K / Q3_K / Q6_K (blocks.h): per row and group two 64-byte loads
// give the 8 slices of 2-bit codes (a shift and mask each, Q3_K adding 4
// under its third-bit mask; Q6_K's are its high bit pairs, joined to four
// more loads of low nibbles); per (row, token) eight vpdpbusd, into one
// accumulator per block half (each half has its own scale), then two
// converts and FMAs. The halves' activation sums come with the activations
// (ABlockQ8x16H): Q3_K's +4 and Q6_K's +32 start the accumulators at -4 and
// -32 sum. Q2_K folds
// its 4-bit half scales in exactly (kFold): per block lane,
// it = sc0 isum0 + sc1 isum1 is an integer below 2^24 (|isum| <= 16 x 3 x
// 128, scales <= 15), so float computes it without rounding, and its mins
// go in per half as wm = dmin mn (exact: 11 bits times 4) against
// xm = dx xsum, then PackedQ2KP::Finish. The packed tile, the panel tile
// (simd_panel-inl.h) and the AMX path (kernels_amx.cc, whose tiles multiply
// the folded weights q sc) all take these steps, so all give the same bits.
inline __m512 SuperLanes(const uint16_t d[2]) {  // lanes 0..7: d[0], 8..15: d[1]
  uint32_t dd;
  std::memcpy(&dd, d, 4);
  const __m512 d2 = _mm512_castps128_ps512(_mm_cvtph_ps(_mm_cvtsi32_si128(static_cast<int>(dd))));
  return _mm512_permutexvar_ps(_mm512_set_epi32(1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0), d2);
}

struct PackedQ2KP {
  using Group = PackedQ2KGroup;
  static constexpr bool kThird = false, kSix = false, kFold = true;
  static constexpr int kStartShift = -1;  // codes as they are
  // Per block lane: the super-block's d, the half scales sc[h] (0..15) as
  // floats and the half mins' weights wm[h] = dmin mn[h].
  static inline __attribute__((always_inline)) void Fold(const Group& g, __m512* d, __m512 sc[2],
                                                         __m512 wm[2]) {
    *d = SuperLanes(g.d);
    const __m512 dmin = SuperLanes(g.dmin);
    KVS_UNROLL
    for (int h = 0; h < 2; ++h) {
      const __m512i v = _mm512_cvtepu8_epi32(Load128(g.scales[h]));
      sc[h] = _mm512_cvtepi32_ps(_mm512_and_si512(v, _mm512_set1_epi32(15)));
      wm[h] = _mm512_mul_ps(dmin, _mm512_cvtepi32_ps(_mm512_srli_epi32(v, 4)));
    }
  }
  // Per block lane of one token's group, each half's xm = dx xsum
  // (ABlockQ8x16H computes them once per activation row).
  static inline __attribute__((always_inline)) void HalfSums(const ABlockQ8x16H& x, __m512 xm[2]) {
    xm[0] = _mm512_loadu_ps(x.xm[0]);
    xm[1] = _mm512_loadu_ps(x.xm[1]);
  }
  // One (row, token) group into acc: it (exact) times d dx, less each
  // half's min term: three float steps where dmin dx and the mins' sum
  // per (row, token) took five.
  static inline __attribute__((always_inline)) __m512 Finish(__m512 acc, __m512 it, __m512 ddx,
                                                             const __m512 wm[2], const __m512 xm[2]) {
    acc = _mm512_fmadd_ps(it, ddx, acc);
    acc = _mm512_fnmadd_ps(wm[0], xm[0], acc);
    return _mm512_fnmadd_ps(wm[1], xm[1], acc);
  }
};
// d times each half's signed scale, per block lane.
inline __attribute__((always_inline)) void SignedHalfScales(const uint16_t d[2], const int8_t s[2][16],
                                                            __m512 scale[2]) {
  const __m512 dl = SuperLanes(d);
  KVS_UNROLL
  for (int h = 0; h < 2; ++h) scale[h] = _mm512_mul_ps(dl, _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(Load128(s[h]))));
}
struct PackedQ3KP {
  using Group = PackedQ3KGroup;
  static constexpr bool kThird = true, kSix = false, kFold = false;
  static constexpr int kStartShift = 2;  // codes + 4
  static inline __attribute__((always_inline)) void Scales(const Group& g, __m512 scale[2]) {
    SignedHalfScales(g.d, g.scale, scale);
  }
};
struct PackedQ6KP {
  using Group = PackedQ6KGroup;
  static constexpr bool kThird = false, kSix = true, kFold = false;
  static constexpr int kStartShift = 5;  // codes + 32
  static inline __attribute__((always_inline)) void Scales(const Group& g, __m512 scale[2]) {
    SignedHalfScales(g.d, g.scale, scale);
  }
};

// Tile 2 x 3: the shapes without register spills here (4 x 2 spilled ~45
// vectors per group; 2 x 3 and 3 x 2 none, and 2 x 3 unpacks fewer rows).
template <class P>
struct PackedQ16Kernel {
  static constexpr int kR = 2;
  static constexpr int kC = 3;

  template <int R, int C>
  static void Tile(const MatMulArgs& a, int64_t row, int64_t tok, int64_t step = 1) {
    using Group = typename P::Group;
    const Group* w[R];
    const ABlockQ8x16H* x[C];
    TileRows(a.w, row, a.w_row_bytes, w, step);
    TileRows(a.xq, tok, a.xq_row_bytes, x);
    __m512 acc[R][C];
    SetAll(acc, _mm512_setzero_ps());
    const __m512i m3 = _mm512_set1_epi8(3), m15 = _mm512_set1_epi8(15), m48 = _mm512_set1_epi8(48);
    const int64_t ng = (a.cols + kGroupElems - 1) / kGroupElems;
    for (int64_t g = 0; g < ng; ++g) {
      KVS_UNROLL
      for (int r = 0; r < R; ++r) PrefetchLines(a.prefetch_bytes, &w[r][g]);
      // Per token, each block half's sum of activations.
      __m512i xsum[C][2];
      KVS_UNROLL
      for (int c = 0; c < C; ++c) {
        xsum[c][0] = Load512(x[c][g].sum_lo);
        xsum[c][1] = _mm512_sub_epi32(Load512(x[c][g].q.sum), xsum[c][0]);
      }
      __m512i isum[R][C][2];
      KVS_UNROLL
      for (int c = 0; c < C; ++c)
        KVS_UNROLL
        for (int h = 0; h < 2; ++h) {
          const __m512i start =
              P::kStartShift >= 0
                  ? _mm512_sub_epi32(_mm512_setzero_si512(), _mm512_slli_epi32(xsum[c][h], P::kStartShift))
                  : _mm512_setzero_si512();
          KVS_UNROLL
          for (int r = 0; r < R; ++r) isum[r][c][h] = start;
        }
      KVS_UNROLL
      for (int t = 0; t < 2; ++t) {
        __m512i v[R], nib[R];
        KVS_UNROLL
        for (int r = 0; r < R; ++r) {
          if constexpr (P::kSix) {
            v[r] = Load512(w[r][g].qh[t]);
          } else {
            v[r] = Load512(w[r][g].qs[t]);
          }
          asm("" : "+v"(v[r]));  // one load, not one folded into each use
        }
        KVS_UNROLL
        for (int s = 0; s < 4; ++s) {
          const int sl = 4 * t + s;
          __m512i q[R];
          KVS_UNROLL
          for (int r = 0; r < R; ++r) {
            if constexpr (P::kSix) {
              // Low nibble, then the two high bits moved to bits 4..5 of
              // their own byte (the 16-bit shifts' spill is masked off).
              if (s % 2 == 0) {
                nib[r] = Load512(w[r][g].ql[sl / 2]);
                asm("" : "+v"(nib[r]));
              }
              const __m512i lo = s % 2 == 0 ? _mm512_and_si512(nib[r], m15)
                                            : _mm512_and_si512(_mm512_srli_epi16(nib[r], 4), m15);
              const __m512i hi = s < 3 ? _mm512_slli_epi16(v[r], 4 - 2 * s) : _mm512_srli_epi16(v[r], 2);
              q[r] = _mm512_ternarylogic_epi32(lo, hi, m48, 0xF8);  // lo | (hi & m48)
            } else {
              q[r] = _mm512_and_si512(_mm512_srli_epi16(v[r], 2 * s), m3);
            }
            if constexpr (P::kThird) {
              q[r] = _mm512_mask_add_epi8(q[r], _cvtu64_mask64(w[r][g].qh[sl]), q[r], _mm512_set1_epi8(4));
            }
          }
          KVS_UNROLL
          for (int c = 0; c < C; ++c) {
            const __m512i xv = Load512(x[c][g].q.qs[sl]);
            KVS_UNROLL
            for (int r = 0; r < R; ++r) isum[r][c][sl % 2] = _mm512_dpbusd_epi32(isum[r][c][sl % 2], q[r], xv);
          }
        }
      }
      if constexpr (P::kFold) {
        __m512 xm[C][2];
        KVS_UNROLL
        for (int c = 0; c < C; ++c) P::HalfSums(x[c][g], xm[c]);
        KVS_UNROLL
        for (int r = 0; r < R; ++r) {
          __m512 d, sc[2], wm[2];
          P::Fold(w[r][g], &d, sc, wm);
          KVS_UNROLL
          for (int c = 0; c < C; ++c) {
            const __m512 it =
                _mm512_fmadd_ps(_mm512_cvtepi32_ps(isum[r][c][0]), sc[0],
                                _mm512_mul_ps(_mm512_cvtepi32_ps(isum[r][c][1]), sc[1]));
            acc[r][c] = P::Finish(acc[r][c], it, _mm512_mul_ps(d, _mm512_loadu_ps(x[c][g].q.d)), wm, xm[c]);
          }
        }
      } else {
        // One row's scales at a time: all rows' at once would not fit the
        // registers beside the accumulators.
        KVS_UNROLL
        for (int r = 0; r < R; ++r) {
          __m512 scale[2];
          P::Scales(w[r][g], scale);
          KVS_UNROLL
          for (int c = 0; c < C; ++c) {
            const __m512 dx = _mm512_loadu_ps(x[c][g].q.d);
            KVS_UNROLL
            for (int h = 0; h < 2; ++h) {
              acc[r][c] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(isum[r][c][h]),
                                          _mm512_mul_ps(scale[h], dx), acc[r][c]);
            }
          }
        }
      }
    }
    StoreTileSums(a, row, tok, step, acc);
  }
};
#endif

// ---------------------------------------------------------------- 256-element super-blocks

// A Q4_K super-block's 12 packed scale bytes (UnpackScaleMinK4's, tensor/quant.h) as
// int16 lanes: 0..7 the sub-block scales, 8..15 the mins. In 32-bit words
// w0..w2 of the packed bytes: scales 0..3 are w0's low six bits per byte,
// mins 0..3 w1's; scales 4..7 take w2's low nibbles and w0's top two bits,
// mins 4..7 w2's high nibbles and w1's top two bits (reads 16 bytes: the
// last 4 are the block's quants, unused).
inline __m256i ScalesMinsK4(const uint8_t* q) {
  const __m128i w = Load128(q);
  const __m128i low6 = _mm_and_si128(w, _mm_set1_epi8(63));                      // sc 0-3 | mn 0-3
  const __m128i w22 = _mm_shuffle_epi32(w, _MM_SHUFFLE(2, 2, 2, 2));
  const __m128i nib = _mm_and_si128(_mm_srlv_epi32(w22, _mm_setr_epi32(0, 4, 0, 0)), _mm_set1_epi8(15));
  const __m128i top2 = _mm_and_si128(_mm_srli_epi32(w, 2), _mm_set1_epi8(0x30));
  const __m128i high = _mm_or_si128(nib, top2);                                   // sc 4-7 | mn 4-7
  return _mm256_cvtepu8_epi16(_mm_unpacklo_epi32(low6, high));
}

// Byte masks for vpshufb: mask k copies int16 lane k of each 128-bit half
// to all eight lanes of that half.
alignas(32) constexpr uint8_t kBroadcastI16[8][32] = {
#define KVS_B16(k) {2 * k, 2 * k + 1, 2 * k, 2 * k + 1, 2 * k, 2 * k + 1, 2 * k, 2 * k + 1, \
                    2 * k, 2 * k + 1, 2 * k, 2 * k + 1, 2 * k, 2 * k + 1, 2 * k, 2 * k + 1, \
                    2 * k, 2 * k + 1, 2 * k, 2 * k + 1, 2 * k, 2 * k + 1, 2 * k, 2 * k + 1, \
                    2 * k, 2 * k + 1, 2 * k, 2 * k + 1, 2 * k, 2 * k + 1, 2 * k, 2 * k + 1}
    KVS_B16(0), KVS_B16(1), KVS_B16(2), KVS_B16(3), KVS_B16(4), KVS_B16(5), KVS_B16(6), KVS_B16(7)};
#undef KVS_B16

// Scales kept in vectors, taken out per 32-element run by one vpshufb
// (two for 16): as scalars moved into vectors one by one they were most
// of the avx2 decode's instructions.
// Run k of 16 int16 scales (one per 16 elements): lane 2k in the low
// 128-bit half, 2k + 1 in the high one.
inline __m256i ScaleRun16(__m256i sc16, int k) {
  return _mm256_shuffle_epi8(BothHalves(sc16, k / 4), Load256(kBroadcastI16Pair[k % 4]));
}
// Run k of 8 int16 scales (one per 32 elements) held in both halves.
inline __m256i ScaleRun8(__m256i sc8x2, int k) { return _mm256_shuffle_epi8(sc8x2, Load256(kBroadcastI16[k])); }

// The tile shapes and loop of the super-block kernels; Impl supplies, per
// row and super-block, Prepare (unpack scales), then for each 32-element
// run k (0..7) the codes as unsigned bytes Codes(k) and the 16-bit scales
// of its two 16-element halves Scales(k), and the correction Offset(bsums)
// (an int32 vector whose lanes sum to what comes off the scaled dot) and
// its float factor OffsetScale (d or dmin of the block).
template <class Impl>
struct SuperBlockKernel {
  static constexpr int kR = kWide ? 2 : 1;
  static constexpr int kC = kWide ? 4 : 3;

  template <int R, int C>
  static void Tile(const MatMulArgs& a, int64_t row, int64_t tok, int64_t step = 1) {
    using Block = typename Impl::Block;
    const Block* w[R];
    const ABlockQ8K* x[C];
    TileRows(a.w, row, a.w_row_bytes, w, step);
    TileRows(a.xq, tok, a.xq_row_bytes, x);
    __m256 acc[R][C];
    SetAll(acc, _mm256_setzero_ps());
    const int64_t nb = a.cols / kQKElems;
    for (int64_t b = 0; b < nb; ++b) {
      Impl u[R];
      KVS_UNROLL
      for (int r = 0; r < R; ++r) {
        PrefetchLines(a.prefetch_bytes, &w[r][b]);
        u[r].Prepare(w[r][b]);
      }
      __m256i isum[R][C];
      KVS_UNROLL
      for (int r = 0; r < R; ++r)
        KVS_UNROLL
        for (int c = 0; c < C; ++c) isum[r][c] = _mm256_setzero_si256();
      KVS_UNROLL
      for (int k = 0; k < 8; ++k) {
        __m256i q[R], sv[R];
        KVS_UNROLL
        for (int r = 0; r < R; ++r) q[r] = u[r].Codes(w[r][b], k), sv[r] = u[r].Scales(k);
        KVS_UNROLL
        for (int c = 0; c < C; ++c) {
          const __m256i xv = Load256(x[c][b].qs + 32 * k);
          KVS_UNROLL
          for (int r = 0; r < R; ++r) {
            isum[r][c] = DotI16(isum[r][c], Impl::Mul(q[r], xv), sv[r]);
            asm volatile("" : "+x"(isum[r][c]));  // as in PackedQ4KernelAvx2: no hoisting, no spills
          }
        }
      }
      KVS_UNROLL
      for (int r = 0; r < R; ++r) {
        const float d = F16(w[r][b].d);
        const float off = u[r].OffsetScale(w[r][b]);
        KVS_UNROLL
        for (int c = 0; c < C; ++c) {
          const __m256i bs = Load256(x[c][b].bsums);
          acc[r][c] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum[r][c]), _mm256_set1_ps(d * x[c][b].d), acc[r][c]);
          if constexpr (Impl::kHasOffset) {
            acc[r][c] = _mm256_fnmadd_ps(_mm256_cvtepi32_ps(u[r].Offset(bs)), _mm256_set1_ps(off * x[c][b].d),
                                         acc[r][c]);
          }
        }
      }
    }
    KVS_UNROLL
    for (int c = 0; c < C; ++c)
      KVS_UNROLL
      for (int r = 0; r < R; ++r) a.out[(tok + c) * a.rows + row + r * step] = Hsum8(acc[r][c]);
  }
};

// Unsigned codes times signed activations, pairs summed to int16.
inline __m256i MulUnsigned(__m256i q, __m256i x) { return _mm256_maddubs_epi16(q, x); }

// Q2_K: the codes of elements 32k..32k+31 are bits
// 2(k % 4) of qs[32(k / 4) + l]; the 16 scales and mins are 4-bit.
struct Q2KImpl {
  using Block = WBlockQ2K;
  static constexpr bool kHasOffset = true;
  __m256i sc16, mins;  // 16 x int16 each
  void Prepare(const Block& b) {
    const __m128i v = Load128(b.scales);
    sc16 = _mm256_cvtepu8_epi16(_mm_and_si128(v, _mm_set1_epi8(15)));
    mins = _mm256_cvtepu8_epi16(_mm_and_si128(_mm_srli_epi16(v, 4), _mm_set1_epi8(15)));
  }
  static __m256i Codes(const Block& b, int k) {
    const __m256i v = Load256(b.qs + 32 * (k / 4));
    return _mm256_and_si256(_mm256_srli_epi16(v, 2 * (k % 4)), _mm256_set1_epi8(3));
  }
  __m256i Scales(int k) const { return ScaleRun16(sc16, k); }
  static __m256i Mul(__m256i q, __m256i x) { return MulUnsigned(q, x); }
  __m256i Offset(__m256i bsums) const { return _mm256_madd_epi16(bsums, mins); }
  float OffsetScale(const Block& b) const { return F16(b.dmin); }
};

// Q3_K: codes + 4 (0..7) from the two low bits and the third bit; the +4
// comes off as 4 * sum_s scale_s * bsum_s, applied with d.
struct Q3KImpl {
  using Block = WBlockQ3K;
  static constexpr bool kHasOffset = true;
  __m256i sc16, hm;
  // The 16 scales (UnpackScaleK3) at once: low nibbles of bytes 0..7 then
  // their high nibbles; top bits from byte 8 + s % 4, which 32-bit lane s / 4
  // of a broadcast holds, shifted by 2 (s / 4) per lane.
  void Prepare(const Block& b) {
    const __m128i lo8 = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(b.scales));
    uint32_t top;
    std::memcpy(&top, b.scales + 8, 4);
    const __m128i m4 = _mm_set1_epi8(15);
    const __m128i low = _mm_unpacklo_epi64(_mm_and_si128(lo8, m4), _mm_and_si128(_mm_srli_epi16(lo8, 4), m4));
    const __m128i high = _mm_and_si128(
        _mm_srlv_epi32(_mm_set1_epi32(static_cast<int32_t>(top)), _mm_setr_epi32(0, 2, 4, 6)), _mm_set1_epi8(3));
    sc16 = _mm256_cvtepi8_epi16(_mm_sub_epi8(_mm_or_si128(low, _mm_slli_epi16(high, 4)), _mm_set1_epi8(32)));
    hm = Load256(b.hmask);
  }
  __m256i Codes(const Block& b, int k) const {
    const __m256i v = Load256(b.qs + 32 * (k / 4));
    const __m256i low = _mm256_and_si256(_mm256_srli_epi16(v, 2 * (k % 4)), _mm256_set1_epi8(3));
    // Third bit (bit k of hmask) moved to bit 2 within each byte.
    const __m256i bit = _mm256_and_si256(hm, _mm256_set1_epi8(static_cast<char>(1 << k)));
    const __m256i high = k <= 2 ? _mm256_slli_epi16(bit, 2 - k) : _mm256_srli_epi16(bit, k - 2);
    return _mm256_or_si256(low, high);
  }
  __m256i Scales(int k) const { return ScaleRun16(sc16, k); }
  static __m256i Mul(__m256i q, __m256i x) { return MulUnsigned(q, x); }
  __m256i Offset(__m256i bsums) const { return _mm256_slli_epi32(_mm256_madd_epi16(bsums, sc16), 2); }
  float OffsetScale(const Block& b) const { return F16(b.d); }
};

// Q4_K and Q5_K (kFifthBits: plus fifth bits, bit k of qh[l]): nibbles
// per 64 elements as 32 bytes, low nibbles first; 6-bit scale and min per
// 32 elements.
template <class B, bool kFifthBits>
struct KMinImpl {
  using Block = B;
  static constexpr bool kHasOffset = true;
  __m256i sc8x2;  // the 8 scales as int16, in both halves
  __m256i mins;   // 16 x int16: each sub-block's min twice (its two bsums)
  __m256i qh;
  void Prepare(const Block& b) {
    const __m256i sm = ScalesMinsK4(b.scales);
    sc8x2 = BothHalves(sm, 0);
    const __m128i m = _mm256_extracti128_si256(sm, 1);
    mins = _mm256_set_m128i(_mm_unpackhi_epi16(m, m), _mm_unpacklo_epi16(m, m));
    if constexpr (kFifthBits) qh = Load256(b.qh);
  }
  __m256i Codes(const Block& b, int k) const {
    const __m256i v = Load256(b.qs + 32 * (k / 2));
    const __m256i low = _mm256_and_si256(_mm256_srli_epi16(v, 4 * (k % 2)), _mm256_set1_epi8(15));
    if constexpr (!kFifthBits) return low;
    // Fifth bit (bit k of qh) moved to bit 4 within each byte.
    const __m256i bit = _mm256_and_si256(qh, _mm256_set1_epi8(static_cast<char>(1 << k)));
    return _mm256_or_si256(low, k <= 4 ? _mm256_slli_epi16(bit, 4 - k) : _mm256_srli_epi16(bit, k - 4));
  }
  __m256i Scales(int k) const { return ScaleRun8(sc8x2, k); }
  static __m256i Mul(__m256i q, __m256i x) { return MulUnsigned(q, x); }
  __m256i Offset(__m256i bsums) const { return _mm256_madd_epi16(bsums, mins); }
  float OffsetScale(const Block& b) const { return F16(b.dmin); }
};
using Q4KImpl = KMinImpl<WBlockQ4K, false>;
using Q5KImpl = KMinImpl<WBlockQ5K, true>;

// IQ4_XS: table values (signed) per 32 elements with a 6-bit scale - 32.
struct IQ4XSImpl {
  using Block = WBlockIQ4XS;
  static constexpr bool kHasOffset = false;
  __m256i sc8x2;  // the 8 scales as int16, in both halves
  // Scale s: nibble s % 2 of scales_l[s / 2], with bits 2s, 2s + 1 of
  // scales_h above it, less 32.
  void Prepare(const Block& b) {
    uint32_t l;
    std::memcpy(&l, b.scales_l, 4);
    const __m128i v = _mm_cvtsi32_si128(static_cast<int>(l));
    const __m128i m4 = _mm_set1_epi8(15);
    const __m128i low = _mm_unpacklo_epi8(_mm_and_si128(v, m4), _mm_and_si128(_mm_srli_epi16(v, 4), m4));
    const __m256i high = _mm256_and_si256(
        _mm256_srlv_epi32(_mm256_set1_epi32(b.scales_h), _mm256_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14)),
        _mm256_set1_epi32(3));
    const __m256i s32 = _mm256_sub_epi32(_mm256_or_si256(_mm256_cvtepu8_epi32(low), _mm256_slli_epi32(high, 4)),
                                         _mm256_set1_epi32(32));
    const __m128i s16 = _mm_packs_epi32(_mm256_castsi256_si128(s32), _mm256_extracti128_si256(s32, 1));
    sc8x2 = _mm256_set_m128i(s16, s16);
  }
  static __m256i Codes(const Block& b, int k) { return _mm256_shuffle_epi8(Iq4NlTable(), Nibbles32(b.qs + 16 * k)); }
  __m256i Scales(int k) const { return ScaleRun8(sc8x2, k); }
  // Signed codes: |w| times sign(x, w); |w| <= 127, so pairs stay in int16.
  static __m256i Mul(__m256i q, __m256i x) {
    return _mm256_maddubs_epi16(_mm256_abs_epi8(q), _mm256_sign_epi8(x, q));
  }
  __m256i Offset(__m256i) const { return _mm256_setzero_si256(); }
  float OffsetScale(const Block&) const { return 0.0f; }
};

}  // namespace
}  // namespace kvs::cpu::KVS_SIMD_NS
