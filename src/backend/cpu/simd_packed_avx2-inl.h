// Part of simd_kernels-inl.h: the packed Q4 layout (blocks.h "Packed Q4",
// the one the AVX-512 tiles read) on AVX2 without VNNI, for Q4_0, Q4_1 and
// Q4_K, whose codes stay within 0..15, Q5_0, Q5_1 and Q5_K with their fifth
// bits (0..31), and Q8_0, IQ4_NL and IQ4_XS as signed bytes (below).
//
// Each 64-byte slice of a group is two vectors, blocks 0..7 and 8..15 (a
// group half), so that int32 lane k of half h collects block 8h + k. Per row,
// half and slice pair: one load, an and and a shift split the nibbles; per
// (row, token): two vpmaddubsw (unsigned codes times signed activations,
// each int16 a pair, |.| <= 2 x 15 x 128), summed as int16 over the half's
// four slice pairs (|.| <= 8 x 3840 = 30720, exact), then one vpmaddwd by
// ones to int32 and the float steps once per eight blocks: a convert,
// multiply and FMA (and an FMA for the mins). The file layout's tiles take
// those steps once per block (Q4_0) and unpack every block's codes alone.
// The offsets are exact integer work as in the AVX-512 tile: Q4_0's
// accumulator starts at -8 sum(x) per block.
#pragma once
#ifndef KVS_SIMD_NS
#error "include backend/cpu/simd_kernels-inl.h, not this part"
#endif

#include "backend/cpu/simd_matmul_types-inl.h"

namespace kvs::cpu::KVS_SIMD_NS {
namespace {

#if !defined(__AVX512F__)
// Each P gives half h's per-block scale (and min, taken off times dx
// sum(x)) as floats, and kStartShift: the accumulator starts at -(sum(x)
// << kStartShift), 0 for none; kFifth: the group's fifth-bit masks add 16
// to the codes (Q5_*).
template <class G, bool kFifthBits, int kShift>
struct Avx2PackedD {  // Q4_0 (-8), Q5_0 (-16)
  using Group = G;
  static constexpr bool kHasMin = false, kSigned = false, kFifth = kFifthBits;
  static constexpr int kStartShift = kShift;
  static inline __attribute__((always_inline)) void Scales(const Group& g, int h, __m256* scale, __m256*) {
    *scale = _mm256_cvtph_ps(Load128(g.d + 8 * h));
  }
};
using Avx2PackedQ4_0 = Avx2PackedD<PackedQ4_0Group, false, 3>;
using Avx2PackedQ5_0 = Avx2PackedD<PackedQ5_0Group, true, 4>;
template <class G, bool kFifthBits>
struct Avx2PackedDMin {  // Q4_1, Q5_1: w = d q + m, so the min term is -m
  using Group = G;
  static constexpr bool kHasMin = true, kSigned = false, kFifth = kFifthBits;
  static constexpr int kStartShift = 0;
  static inline __attribute__((always_inline)) void Scales(const Group& g, int h, __m256* scale, __m256* min) {
    *scale = _mm256_cvtph_ps(Load128(g.d + 8 * h));
    *min = _mm256_sub_ps(_mm256_setzero_ps(), _mm256_cvtph_ps(Load128(g.m + 8 * h)));
  }
};
using Avx2PackedQ4_1 = Avx2PackedDMin<PackedQ4_1Group, false>;
using Avx2PackedQ5_1 = Avx2PackedDMin<PackedQ5_1Group, true>;
template <class G, bool kFifthBits>
struct Avx2PackedKMin {  // Q4_K, Q5_K: half h is super-block h, d[h] times each block's 6-bit scale
  using Group = G;
  static constexpr bool kHasMin = true, kSigned = false, kFifth = kFifthBits;
  static constexpr int kStartShift = 0;
  static inline __attribute__((always_inline)) void Scales(const Group& g, int h, __m256* scale, __m256* min) {
    const __m128 dd = _mm_cvtph_ps(_mm_cvtsi32_si128(static_cast<int>(uint32_t{g.d[h]} | uint32_t{g.dmin[h]} << 16)));  // [d, dmin]
    const __m128i sc = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(g.scale + 8 * h));
    const __m128i mn = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(g.min + 8 * h));
    *scale = _mm256_mul_ps(_mm256_broadcastss_ps(dd), _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(sc)));
    *min = _mm256_mul_ps(_mm256_broadcastss_ps(_mm_movehdup_ps(dd)), _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(mn)));
  }
};
using Avx2PackedQ4K = Avx2PackedKMin<PackedQ4KGroup, false>;
using Avx2PackedQ5K = Avx2PackedKMin<PackedQ5KGroup, true>;

// Signed byte codes (kSigned; Codes(g, s, h): slice s of half h): Q8_0's
// bytes, stored + 128, and the IQ4 table's values, whose range (-127..113)
// vpmaddubsw cannot take unsigned.
struct Avx2PackedQ8_0 {
  using Group = PackedQ8_0Group;
  static constexpr bool kHasMin = false, kSigned = true, kFifth = false;
  static constexpr int kStartShift = 0;
  static inline __attribute__((always_inline)) __m256i Codes(const Group& g, int s, int h) {
    return _mm256_xor_si256(Load256(g.qs[s] + 32 * h), _mm256_set1_epi8(-128));
  }
  static inline __attribute__((always_inline)) void Scales(const Group& g, int h, __m256* scale, __m256*) {
    *scale = _mm256_cvtph_ps(Load128(g.d + 8 * h));
  }
};
// IQ4 codes: slice s is the low (s even) or high nibbles of qs[s / 2].
inline __m256i Iq4Codes(const uint8_t (&qs)[4][64], int s, int h) {
  const __m256i v = Load256(qs[s / 2] + 32 * h);
  const __m256i idx = _mm256_and_si256(s % 2 == 0 ? v : _mm256_srli_epi16(v, 4), _mm256_set1_epi8(15));
  return _mm256_shuffle_epi8(Iq4NlTable(), idx);
}
struct Avx2PackedIQ4NL {
  using Group = PackedQ4_0Group;
  static constexpr bool kHasMin = false, kSigned = true, kFifth = false;
  static constexpr int kStartShift = 0;
  static inline __attribute__((always_inline)) __m256i Codes(const Group& g, int s, int h) {
    return Iq4Codes(g.qs, s, h);
  }
  static inline __attribute__((always_inline)) void Scales(const Group& g, int h, __m256* scale, __m256*) {
    *scale = _mm256_cvtph_ps(Load128(g.d + 8 * h));
  }
};
struct Avx2PackedIQ4XS {  // half h is super-block h: d[h] times each block's signed scale
  using Group = PackedIQ4XSGroup;
  static constexpr bool kHasMin = false, kSigned = true, kFifth = false;
  static constexpr int kStartShift = 0;
  static inline __attribute__((always_inline)) __m256i Codes(const Group& g, int s, int h) {
    return Iq4Codes(g.qs, s, h);
  }
  static inline __attribute__((always_inline)) void Scales(const Group& g, int h, __m256* scale, __m256*) {
    const __m128i sc = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(g.scale + 8 * h));
    *scale = _mm256_mul_ps(_mm256_set1_ps(F16(g.d[h])), _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(sc)));
  }
};

// Tile 2 x 3: per half, the 6 int16 sums, each row's two code vectors and
// a token's two activation vectors hold 14 of AVX2's 16 registers; the
// float accumulators live on the stack, touched once per half. Measured
// (matmul_bench, 512 tokens, 1 thread, Zen 4 VM, cpu:avx2, best of 3,
// GMAC/s, FFN up / down): 2 x 2 Q4_0 110 / 114, Q4_K 92 / 91; 2 x 3 Q4_0
// 120 / 119, Q4_K 102 / 104; 3 x 2 Q4_0 112 / 113, Q4_K 96 / 96.
template <class P>
struct PackedQ4KernelAvx2 {
  static constexpr int kR = 2;
  static constexpr int kC = 3;

  template <int R, int C>
  static void Tile(const MatMulArgs& a, int64_t row, int64_t tok, int64_t step = 1) {
    using Group = typename P::Group;
    const Group* w[R];
    const ABlockQ8x16* x[C];
    TileRows(a.w, row, a.w_row_bytes, w, step);
    TileRows(a.xq, tok, a.xq_row_bytes, x);
    __m256 acc[R][C];
    SetAll(acc, _mm256_setzero_ps());
    const int64_t ng = (a.cols + kGroupElems - 1) / kGroupElems;
    for (int64_t g = 0; g < ng; ++g) {
      KVS_UNROLL
      for (int r = 0; r < R; ++r) PrefetchLines(a.prefetch_bytes, &w[r][g]);
      KVS_UNROLL
      for (int h = 0; h < 2; ++h) {
        __m256i isum[R][C];
        if constexpr (P::kSigned) {
          SignedSums<R, C>(w, x, g, h, isum);
        } else {
          NibbleSums<R, C>(w, x, g, h, isum);
        }
        __m256 scale[R], min[R];
        KVS_UNROLL
        for (int r = 0; r < R; ++r) P::Scales(w[r][g], h, &scale[r], &min[r]);
        KVS_UNROLL
        for (int c = 0; c < C; ++c) {
          const __m256 dx = _mm256_loadu_ps(x[c][g].d + 8 * h);
          const __m256i xsum = Load256(x[c][g].sum + 8 * h);
          const __m256i start = P::kStartShift == 0 ? _mm256_setzero_si256()
                                                    : _mm256_sub_epi32(_mm256_setzero_si256(),
                                                                       _mm256_slli_epi32(xsum, P::kStartShift));
          const __m256 xs = P::kHasMin ? _mm256_mul_ps(dx, _mm256_cvtepi32_ps(xsum)) : dx;
          KVS_UNROLL
          for (int r = 0; r < R; ++r) {
            acc[r][c] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_add_epi32(start, isum[r][c])),
                                        _mm256_mul_ps(scale[r], dx), acc[r][c]);
            if constexpr (P::kHasMin) acc[r][c] = _mm256_fnmadd_ps(min[r], xs, acc[r][c]);
          }
        }
      }
    }
    StoreTileSums(a, row, tok, step, acc);
  }

  // isum[r][c] = half h of group g's integer dots per block, unsigned
  // nibble codes: vpmaddubsw pairs summed as int16 over the four slice
  // pairs, then to int32 once.
  template <int R, int C>
  static inline __attribute__((always_inline)) void NibbleSums(const typename P::Group* (&w)[R],
                                                               const ABlockQ8x16* (&x)[C], int64_t g, int h,
                                                               __m256i (&isum)[R][C]) {
    const __m256i m4 = _mm256_set1_epi8(15);
    __m256i s16[R][C];
    SetAll(s16, _mm256_setzero_si256());
    SetAll(isum, _mm256_setzero_si256());
    KVS_UNROLL
    for (int i = 0; i < 4; ++i) {
      __m256i lo[R], hi[R];
      KVS_UNROLL
      for (int r = 0; r < R; ++r) {
        __m256i v = Load256(w[r][g].qs[i] + 32 * h);
        // Slice pair i starts after pair i - 1's sums (the asm
        // statements keep their order): left to itself GCC 12 ran all
        // 32 vpmaddubsw of a 2 x 2 tile's half first and spilled their
        // products to the stack.
        asm volatile("" : "+x"(v));
        lo[r] = _mm256_and_si256(v, m4);
        hi[r] = _mm256_and_si256(_mm256_srli_epi16(v, 4), m4);
        if constexpr (P::kFifth) {  // + 16 where the slice's mask bit is set (bit 4k + j: byte 4k + j)
          const auto* qh = reinterpret_cast<const uint8_t*>(w[r][g].qh[i]);
          lo[r] = _mm256_or_si256(lo[r], FifthBits(qh + 4 * h));
          hi[r] = _mm256_or_si256(hi[r], FifthBits(qh + 8 + 4 * h));
        }
      }
      KVS_UNROLL
      for (int c = 0; c < C; ++c) {
        const __m256i xl = Load256(x[c][g].qs[2 * i] + 32 * h);
        const __m256i xh = Load256(x[c][g].qs[2 * i + 1] + 32 * h);
        KVS_UNROLL
        for (int r = 0; r < R; ++r) {
          s16[r][c] = _mm256_add_epi16(
              s16[r][c], _mm256_add_epi16(_mm256_maddubs_epi16(lo[r], xl), _mm256_maddubs_epi16(hi[r], xh)));
          asm volatile("" : "+x"(s16[r][c]));
        }
      }
      // Five-bit codes (0..31) fill int16 after two slice pairs (four
      // vpmaddubsw of |.| <= 2 x 31 x 127: 31496): to int32 then.
      if (i == 3 || (P::kFifth && i == 1)) {
        KVS_UNROLL
        for (int r = 0; r < R; ++r)
          KVS_UNROLL
          for (int c = 0; c < C; ++c) {
            isum[r][c] = _mm256_add_epi32(isum[r][c], _mm256_madd_epi16(s16[r][c], _mm256_set1_epi16(1)));
            s16[r][c] = _mm256_setzero_si256();
          }
      }
    }
  }

  // The same for signed byte codes (P::Codes, slice by slice): |w| times
  // sign(x, w), each slice's pairs (|.| <= 2 x 128 x 127, so no two fit
  // int16 together) to int32 at once.
  template <int R, int C>
  static inline __attribute__((always_inline)) void SignedSums(const typename P::Group* (&w)[R],
                                                               const ABlockQ8x16* (&x)[C], int64_t g, int h,
                                                               __m256i (&isum)[R][C]) {
    SetAll(isum, _mm256_setzero_si256());
    KVS_UNROLL
    for (int s = 0; s < 8; ++s) {
      __m256i q[R], qa[R];
      KVS_UNROLL
      for (int r = 0; r < R; ++r) {
        q[r] = P::Codes(w[r][g], s, h);
        asm volatile("" : "+x"(q[r]));  // as in NibbleSums
        qa[r] = _mm256_abs_epi8(q[r]);
      }
      KVS_UNROLL
      for (int c = 0; c < C; ++c) {
        const __m256i xv = Load256(x[c][g].qs[s] + 32 * h);
        KVS_UNROLL
        for (int r = 0; r < R; ++r) {
          const __m256i p = _mm256_maddubs_epi16(qa[r], _mm256_sign_epi8(xv, q[r]));
          isum[r][c] = _mm256_add_epi32(isum[r][c], _mm256_madd_epi16(p, _mm256_set1_epi16(1)));
          asm volatile("" : "+x"(isum[r][c]));
        }
      }
    }
  }
};
#endif

}  // namespace
}  // namespace kvs::cpu::KVS_SIMD_NS
