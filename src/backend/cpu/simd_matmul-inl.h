// Part of simd_kernels-inl.h: MatMul, matrix-vector and register tiles.
// Exempt from the 400-line guideline as a SIMD kernel file.
#pragma once
#ifndef KVS_SIMD_NS
#error "include backend/cpu/simd_kernels-inl.h, not this part"
#endif

#include "backend/cpu/simd_quantize-inl.h"
#include "tensor/quant.h"

namespace kvs::cpu::KVS_SIMD_NS {
namespace {

// ---------------------------------------------------------------- tiles
// Each Tile<R, C>(a, row, tok, step) computes out[tok + c, row + r * step]
// for r < R, c < C. Each kernel type names its tile shape for n > 1,
// kR x kC (step 1); decode (n == 1) takes Tile<2, 1> with rows far apart
// (MatVecTwoStreams).

// Software prefetch along the weights, `ahead` bytes past p, none when 0
// (MatMulArgs::prefetch_bytes; cpu::SoftwarePrefetchBytes says when).
inline void Prefetch(int64_t ahead, const void* p) {
  if (ahead != 0) _mm_prefetch(static_cast<const char*>(p) + ahead, _MM_HINT_T0);
}
// Prefetch of every 64-byte line of one weight group or block.
template <class T>
inline __attribute__((always_inline)) void PrefetchLines(int64_t ahead, const T* p) {
  KVS_UNROLL
  for (int l = 0; l < static_cast<int>((sizeof(T) + 63) / 64); ++l) {
    Prefetch(ahead, reinterpret_cast<const uint8_t*>(p) + 64 * l);
  }
}

// KernelTable::read_fold. 64 bytes into one of four accumulators; AVX2
// folds two 32-byte loads.
#if defined(__AVX512F__)
using FoldVec = __m512i;
inline FoldVec Fold64(FoldVec acc, const uint8_t* p) { return _mm512_xor_si512(acc, Load512(p)); }
inline FoldVec Xor(FoldVec a, FoldVec b) { return _mm512_xor_si512(a, b); }
inline __m256i FoldHalves(FoldVec v) {
  return _mm256_xor_si256(_mm512_castsi512_si256(v), _mm512_extracti64x4_epi64(v, 1));
}
#else
using FoldVec = __m256i;
inline FoldVec Fold64(FoldVec acc, const uint8_t* p) {
  return _mm256_xor_si256(acc, _mm256_xor_si256(Load256(p), Load256(p + 32)));
}
inline FoldVec Xor(FoldVec a, FoldVec b) { return _mm256_xor_si256(a, b); }
inline __m256i FoldHalves(FoldVec v) { return v; }
#endif

uint64_t ReadFold(const uint8_t* p, int64_t bytes, bool kernel_pattern, int64_t prefetch_bytes) {
  FoldVec acc[4] = {};
  if (kernel_pattern) {
    const uint8_t* q = p + bytes / 2;
    for (int64_t i = 0; i < bytes / 2; i += 128) {
      Prefetch(prefetch_bytes, p + i), Prefetch(prefetch_bytes, p + i + 64);
      Prefetch(prefetch_bytes, q + i), Prefetch(prefetch_bytes, q + i + 64);
      acc[0] = Fold64(acc[0], p + i), acc[1] = Fold64(acc[1], p + i + 64);
      acc[2] = Fold64(acc[2], q + i), acc[3] = Fold64(acc[3], q + i + 64);
    }
  } else {
    for (int64_t i = 0; i < bytes; i += 256) {
      for (int k = 0; k < 4; ++k) acc[k] = Fold64(acc[k], p + i + 64 * k);
    }
  }
  const __m256i y = FoldHalves(Xor(Xor(acc[0], acc[1]), Xor(acc[2], acc[3])));
  const __m128i z = _mm_xor_si128(_mm256_castsi256_si128(y), _mm256_extracti128_si256(y, 1));
  return static_cast<uint64_t>(_mm_cvtsi128_si64(z)) ^ static_cast<uint64_t>(_mm_extract_epi64(z, 1));
}

// p[i] = row first + i * step of an array of stride-byte rows.
template <class T, int N>
inline __attribute__((always_inline)) void TileRows(const uint8_t* base, int64_t first, int64_t stride,
                                                    const T* (&p)[N], int64_t step = 1) {
  KVS_UNROLL
  for (int i = 0; i < N; ++i) p[i] = reinterpret_cast<const T*>(base + (first + i * step) * stride);
}

template <class V, int R, int C>
inline __attribute__((always_inline)) void SetAll(V (&acc)[R][C], V v) {
  KVS_UNROLL
  for (int r = 0; r < R; ++r)
    KVS_UNROLL
    for (int c = 0; c < C; ++c) acc[r][c] = v;
}

#if defined(__AVX512F__)
constexpr int kWide = 1;  // 32 vector registers
#else
constexpr int kWide = 0;  // 16
#endif

// 32-element block weights (Q8_0, Q4_0 here; Q4_1, Q5_0, Q5_1, IQ4_NL in
// simd_matmul_types-inl.h): each block turned into 32 bytes and dotted
// with the activation block; signed codes go through |w| (unsigned) and
// sign(x, w) so that the products keep their sign.
// U::Q(block) gives the 32 codes as bytes (element i in byte i); kSigned:
// they are signed (dotted through |w| and sign(x, w)), else unsigned
// (dotted directly); kHasMin: the block adds U::Min(block) to every value.
struct UnpackQ8_0 {
  using Block = WBlockQ8_0;
  static constexpr bool kSigned = true, kHasMin = false;
  static __m256i Q(const Block& b) { return Load256(b.qs); }
};
struct UnpackQ4_0 {
  using Block = WBlockQ4_0;
  static constexpr bool kSigned = true, kHasMin = false;
  static __m256i Q(const Block& b) {
    const __m128i v = Load128(b.qs);
    const __m128i m4 = _mm_set1_epi8(15);
    const __m128i lo = _mm_and_si128(v, m4);
    const __m128i hi = _mm_and_si128(_mm_srli_epi16(v, 4), m4);
    return _mm256_sub_epi8(_mm256_set_m128i(hi, lo), _mm256_set1_epi8(8));
  }
};

template <class U>
struct Q32Kernel {
  static constexpr int kR = kWide ? 4 : 2;
  static constexpr int kC = kWide ? 4 : 3;

  template <int R, int C>
  static void Tile(const MatMulArgs& a, int64_t row, int64_t tok, int64_t step = 1) {
    using Block = typename U::Block;
    const Block* w[R];
    const ABlockQ8* x[C];
    TileRows(a.w, row, a.w_row_bytes, w, step);
    TileRows(a.xq, tok, a.xq_row_bytes, x);
    __m256 acc[R][C];
    SetAll(acc, _mm256_setzero_ps());
    const int64_t nb = a.cols / kQ8Elems;
    for (int64_t b = 0; b < nb; ++b) {
      __m256i wq[R], wabs[R];
      float dw[R], mw[R];
      KVS_UNROLL
      for (int r = 0; r < R; ++r) {
        Prefetch(a.prefetch_bytes, &w[r][b]);
        wq[r] = U::Q(w[r][b]);
        if constexpr (U::kSigned) wabs[r] = _mm256_abs_epi8(wq[r]);  // -128 -> 0x80 = 128 unsigned: still exact
        dw[r] = F16(w[r][b].d);
        if constexpr (U::kHasMin) mw[r] = F16(w[r][b].m);
      }
      KVS_UNROLL
      for (int c = 0; c < C; ++c) {
        const __m256i xv = Load256(x[c][b].qs);
        const float dx = x[c][b].d;
        // The min term: lanes of sum(x) (their total is the block's sum).
        __m256 xsum = _mm256_setzero_ps();
        if constexpr (U::kHasMin) xsum = _mm256_cvtepi32_ps(DotU8S8(_mm256_setzero_si256(), _mm256_set1_epi8(1), xv));
        KVS_UNROLL
        for (int r = 0; r < R; ++r) {
          __m256i p;
          if constexpr (U::kSigned) {
            p = DotU8S8(_mm256_setzero_si256(), wabs[r], _mm256_sign_epi8(xv, wq[r]));
          } else {
            p = DotU8S8(_mm256_setzero_si256(), wq[r], xv);
          }
          acc[r][c] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p), _mm256_set1_ps(dw[r] * dx), acc[r][c]);
          if constexpr (U::kHasMin) acc[r][c] = _mm256_fmadd_ps(xsum, _mm256_set1_ps(mw[r] * dx), acc[r][c]);
        }
      }
    }
    KVS_UNROLL
    for (int c = 0; c < C; ++c)
      KVS_UNROLL
      for (int r = 0; r < R; ++r) a.out[(tok + c) * a.rows + row + r * step] = Hsum8(acc[r][c]);
  }
};

#if defined(__AVX512VNNI__)
alignas(64) constexpr int32_t kQ32XIdx[16] = {0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3};

// Q8_0 on AVX-512 VNNI: four blocks (128 elements) per step, activations
// pre-split (QuantizeRowQ32Vnni: scales, low halves, high halves per 4
// blocks, x + 128) so that int32 lanes 4k..4k+3 hold block k's partial
// sums. x + 128 adds 128 * sum(w), taken off through the accumulator's
// initial value once per weight group rather than per (row, token). The four 32-byte quant runs
// come in as two 512-bit pairs and one vshufi64x2 each gathers the low /
// high 16-byte halves, so int32 lanes 4k..4k+3 hold block k; the four f16
// scales come from two 64-byte loads and one word permute. Per row: two
// vpdpbusd for the x + 128 correction (folded into the accumulator's
// start); per (row, token): two vpdpbusd, one convert, multiply and FMA.
alignas(64) constexpr int16_t kQ8DIdx[32] = {0,  0,  0,  0,  17, 17, 17, 17, 34, 34, 34,
                                             34, 51, 51, 51, 51, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};

struct Q8_0GroupLoader {
  static constexpr int64_t kBlockBytes = sizeof(WBlockQ8_0);
  static constexpr bool kHasMin = false;
  template <bool kFull>
  static inline __attribute__((always_inline)) void Load(const uint8_t* w, int64_t pf, int g, __m512i* wlo,
                                                         __m512i* whi, __m512i* ncorr, __m512* dw, __m512*) {
    const __m512i c128 = _mm512_set1_epi8(-128);
    __m512i q01, q23;
    if (kFull) {
      Prefetch(pf, w);
      Prefetch(pf, w + 68);
      q01 = _mm512_inserti64x4(_mm512_castsi256_si512(Load256(w + 2)), Load256(w + 36), 1);
      q23 = _mm512_inserti64x4(_mm512_castsi256_si512(Load256(w + 70)), Load256(w + 104), 1);
      const __m512i r0 = _mm512_loadu_si512(w);
      const __m512i r1 = _mm512_loadu_si512(w + 64);
      *dw = _mm512_cvtph_ps(_mm512_castsi512_si256(
          _mm512_permutex2var_epi16(r0, _mm512_load_si512(kQ8DIdx), r1)));
    } else {
      alignas(64) int8_t q[4][kQ8Elems] = {};
      alignas(64) float d[16] = {};
      for (int k = 0; k < g; ++k) {
        const auto* blk = reinterpret_cast<const WBlockQ8_0*>(w + k * kBlockBytes);
        std::memcpy(q[k], blk->qs, kQ8Elems);
        for (int i = 0; i < 4; ++i) d[4 * k + i] = F16(blk->d);
      }
      q01 = _mm512_load_si512(q[0]);
      q23 = _mm512_load_si512(q[2]);
      *dw = _mm512_load_ps(d);
    }
    *wlo = _mm512_shuffle_i64x2(q01, q23, 0x88);  // 128-bit lanes 0, 2 | 0, 2
    *whi = _mm512_shuffle_i64x2(q01, q23, 0xDD);  // 1, 3 | 1, 3
    *ncorr = _mm512_sub_epi32(
        _mm512_setzero_si512(),
        _mm512_dpbusd_epi32(_mm512_dpbusd_epi32(_mm512_setzero_si512(), c128, *wlo), c128, *whi));
  }
};

// Four blocks per step against the pre-split activations, one convert,
// multiply and FMA per (row, token) per group. Loader unpacks one row's
// group of weights.
template <class Loader>
struct Q32KernelVnni {
  static constexpr int kR = 2;
  static constexpr int kC = 8;

  // One group of g blocks starting at block b (g == kQ32Group when kFull);
  // w[r] points at row r's first weight block, x[c] at token c's
  // activations; pf: MatMulArgs::prefetch_bytes.
  template <int R, int C, bool kFull>
  static inline __attribute__((always_inline)) void Group(const uint8_t* const* w0, const uint8_t* const* x0,
                                                          int64_t b, int g, int64_t pf, __m512 (&acc)[R][C]) {
    const uint8_t* x[C];
    KVS_UNROLL
    for (int c = 0; c < C; ++c) x[c] = x0[c] + b * int64_t{sizeof(ABlockQ8)};
    const __m512i xidx = _mm512_load_si512(kQ32XIdx);
    __m512i wlo[R], whi[R], ncorr[R];
    __m512 dw[R], mw[R];
    KVS_UNROLL
    for (int r = 0; r < R; ++r) {
      Loader::template Load<kFull>(w0[r] + b * Loader::kBlockBytes, pf, g, &wlo[r], &whi[r], &ncorr[r],
                                   &dw[r], &mw[r]);
    }
    KVS_UNROLL
    for (int c = 0; c < C; ++c) {
      __m512i xlo, xhi;
      __m128 dx4;
      if (kFull) {
        dx4 = _mm_loadu_ps(reinterpret_cast<const float*>(x[c]));
        xlo = _mm512_loadu_si512(x[c] + 16);
        xhi = _mm512_loadu_si512(x[c] + 80);
      } else {
        const __mmask64 m = (__mmask64{1} << (16 * g)) - 1;
        dx4 = _mm_maskz_loadu_ps(static_cast<__mmask8>((1u << g) - 1), x[c]);
        xlo = _mm512_maskz_loadu_epi8(m, x[c] + 4 * g);
        xhi = _mm512_maskz_loadu_epi8(m, x[c] + 20 * g);
      }
      const __m512 dx = _mm512_permutexvar_ps(xidx, _mm512_castps128_ps512(dx4));
      // Blocks with a min: lanes 4k..4k+3 of xs sum to block k's sum(x)
      // (each lane adds 8 bytes of x + 128, hence the -1024).
      __m512 xs = _mm512_setzero_ps();
      if constexpr (Loader::kHasMin) {
        const __m512i ones = _mm512_set1_epi8(1);
        xs = _mm512_cvtepi32_ps(
            _mm512_dpbusd_epi32(_mm512_dpbusd_epi32(_mm512_set1_epi32(-1024), xlo, ones), xhi, ones));
      }
      KVS_UNROLL
      for (int r = 0; r < R; ++r) {
        const __m512i p = _mm512_dpbusd_epi32(_mm512_dpbusd_epi32(ncorr[r], xlo, wlo[r]), xhi, whi[r]);
        acc[r][c] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(p), _mm512_mul_ps(dw[r], dx), acc[r][c]);
        if constexpr (Loader::kHasMin) acc[r][c] = _mm512_fmadd_ps(xs, _mm512_mul_ps(mw[r], dx), acc[r][c]);
      }
    }
  }

  template <int R, int C>
  static void Tile(const MatMulArgs& a, int64_t row, int64_t tok, int64_t step = 1) {
    const uint8_t* w[R];
    const uint8_t* x[C];
    TileRows(a.w, row, a.w_row_bytes, w, step);
    TileRows(a.xq, tok, a.xq_row_bytes, x);
    __m512 acc[R][C];
    SetAll(acc, _mm512_setzero_ps());
    const int64_t nb = a.cols / kQ8Elems;
    // Whole groups, then the short last one: the tail's masked loads stay
    // out of the main loop (folding them into it cost ~12% of prefill).
    int64_t b = 0;
    for (; b + kQ32Group <= nb; b += kQ32Group) Group<R, C, true>(w, x, b, kQ32Group, a.prefetch_bytes, acc);
    if (b < nb) Group<R, C, false>(w, x, b, static_cast<int>(nb - b), a.prefetch_bytes, acc);
    StoreTileSums(a, row, tok, step, acc);
  }
};
using Q8_0KernelVnni = Q32KernelVnni<Q8_0GroupLoader>;
#endif

// v's low (half 0) or high 128 bits in both halves. (The immediate must
// be a constant where the compiler checks it before unrolling: clang.)
inline __m256i BothHalves(__m256i v, int half) {
  return half == 0 ? _mm256_permute2x128_si256(v, v, 0x00) : _mm256_permute2x128_si256(v, v, 0x11);
}
// Mask k copies int16 lane 2k to the low half's eight lanes and lane
// 2k + 1 to the high half's (each half holding the same eight lanes).
alignas(32) constexpr uint8_t kBroadcastI16Pair[4][32] = {
#define KVS_B16P(k) {4 * k, 4 * k + 1, 4 * k, 4 * k + 1, 4 * k, 4 * k + 1, 4 * k, 4 * k + 1, \
                     4 * k, 4 * k + 1, 4 * k, 4 * k + 1, 4 * k, 4 * k + 1, 4 * k, 4 * k + 1, \
                     4 * k + 2, 4 * k + 3, 4 * k + 2, 4 * k + 3, 4 * k + 2, 4 * k + 3, 4 * k + 2, 4 * k + 3, \
                     4 * k + 2, 4 * k + 3, 4 * k + 2, 4 * k + 3, 4 * k + 2, 4 * k + 3, 4 * k + 2, 4 * k + 3}
    KVS_B16P(0), KVS_B16P(1), KVS_B16P(2), KVS_B16P(3)};
#undef KVS_B16P

#if defined(__AVX512VNNI__)
// Packed Q4_0 / Q4_K (blocks.h, "Packed Q4"): 16 blocks per group, block k
// in int32 lane k. Per row and group: four 64-byte loads, an and / shift
// each to split the nibbles, and the 16 block scales (and mins) as one
// float vector; per (row, token): eight vpdpbusd (unsigned quants times
// signed activations), then one convert, multiply and FMA (plus one FMA
// for the mins) for 512 elements. Q4_0's -8 offset is exact integer work:
// the accumulator starts at -8 * sum(x) of each block.
// Each P: kHasMin (the float min term), kStartShift (the integer offset:
// the accumulator starts at -(sum(x) << kStartShift)), kFifth (fifth bits
// from the group's masks), kTable (codes index the IQ4 table, stored + 128
// so that they stay unsigned).
struct PackedQ4_0 {
  using Group = PackedQ4_0Group;
  static constexpr bool kHasMin = false, kFifth = false, kTable = false, kBytes = false;
  static constexpr int kStartShift = 3;
  static inline __attribute__((always_inline)) void Scales(const Group& g, __m512* scale, __m512*) {
    *scale = _mm512_cvtph_ps(Load256(g.d));
  }
};
template <class G, bool kFifthBits>
struct PackedKMin {
  using Group = G;
  static constexpr bool kHasMin = true, kFifth = kFifthBits, kTable = false, kBytes = false;
  static constexpr int kStartShift = 0;
  // d * scale and dmin * min are exact in float (11 x 6 significant bits).
  static inline __attribute__((always_inline)) void Scales(const Group& g, __m512* scale, __m512* min) {
    const __m512 dd = _mm512_castps128_ps512(  // [d0, d1, dmin0, dmin1]
        _mm_cvtph_ps(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(g.d))));
    const __m512i lanes_hi = _mm512_set_epi32(1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0);
    const __m512 d = _mm512_permutexvar_ps(lanes_hi, dd);
    const __m512 dmin = _mm512_permutexvar_ps(_mm512_add_epi32(lanes_hi, _mm512_set1_epi32(2)), dd);
    *scale = _mm512_mul_ps(d, _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(Load128(g.scale))));
    *min = _mm512_mul_ps(dmin, _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(Load128(g.min))));
  }
};

using PackedQ4K = PackedKMin<PackedQ4KGroup, false>;
using PackedQ5K = PackedKMin<PackedQ5KGroup, true>;

// IQ4_NL: Q4_0's group, table values + 128, -128 sum(x) to start.
struct PackedIQ4NL {
  using Group = PackedQ4_0Group;
  static constexpr bool kHasMin = false, kFifth = false, kTable = true, kBytes = false;
  static constexpr int kStartShift = 7;
  static inline __attribute__((always_inline)) void Scales(const Group& g, __m512* scale, __m512*) {
    *scale = _mm512_cvtph_ps(Load256(g.d));
  }
};
// IQ4_XS: per block d of its super-block times its signed 6-bit scale.
struct PackedIQ4XS {
  using Group = PackedIQ4XSGroup;
  static constexpr bool kHasMin = false, kFifth = false, kTable = true, kBytes = false;
  static constexpr int kStartShift = 7;
  static inline __attribute__((always_inline)) void Scales(const Group& g, __m512* scale, __m512*) {
    uint32_t dd;
    std::memcpy(&dd, g.d, 4);
    const __m512 d2 = _mm512_castps128_ps512(_mm_cvtph_ps(_mm_cvtsi32_si128(static_cast<int>(dd))));
    const __m512 d = _mm512_permutexvar_ps(_mm512_set_epi32(1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0), d2);
    *scale = _mm512_mul_ps(d, _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(Load128(g.scale))));
  }
};
// Q4_1 / Q5_1: per block d and offset m (the kernel subtracts min, so -m).
template <class G, bool kFifthBits>
struct PackedDMin {
  using Group = G;
  static constexpr bool kHasMin = true, kFifth = kFifthBits, kTable = false, kBytes = false;
  static constexpr int kStartShift = 0;
  static inline __attribute__((always_inline)) void Scales(const Group& g, __m512* scale, __m512* min) {
    *scale = _mm512_cvtph_ps(Load256(g.d));
    *min = _mm512_sub_ps(_mm512_setzero_ps(), _mm512_cvtph_ps(Load256(g.m)));
  }
};
using PackedQ4_1 = PackedDMin<PackedQ4_1Group, false>;
using PackedQ5_1 = PackedDMin<PackedQ5_1Group, true>;
// Q5_0: Q4_0 with fifth bits, -16 sum(x) to start.
struct PackedQ5_0 {
  using Group = PackedQ5_0Group;
  static constexpr bool kHasMin = false, kFifth = true, kTable = false, kBytes = false;
  static constexpr int kStartShift = 4;
  static inline __attribute__((always_inline)) void Scales(const Group& g, __m512* scale, __m512*) {
    *scale = _mm512_cvtph_ps(Load256(g.d));
  }
};

// Q8_0: whole bytes (kBytes), stored + 128, -128 sum(x) to start.
struct PackedQ8_0 {
  using Group = PackedQ8_0Group;
  static constexpr bool kHasMin = false, kFifth = false, kTable = false, kBytes = true;
  static constexpr int kStartShift = 7;
  static inline __attribute__((always_inline)) void Scales(const Group& g, __m512* scale, __m512*) {
    *scale = _mm512_cvtph_ps(Load256(g.d));
  }
};

// The IQ4 table plus 128, as unsigned bytes, in each 128-bit lane.
inline __m512i Iq4NlTablePlus128() {
  return _mm512_broadcast_i32x4(_mm_xor_si128(Load128(kIq4NlValues), _mm_set1_epi8(-128)));
}

// The codes of slices 2i (lo) and 2i + 1 (hi) of a packed group as the
// unsigned bytes vpdpbusd takes: nibbles, plus 16 under the fifth-bit masks,
// or the IQ4 table's values + 128.
template <class P>
inline __attribute__((always_inline)) void UnpackQ4Codes(const typename P::Group& g, int i, __m512i m4,
                                                         __m512i table, __m512i* lo, __m512i* hi) {
  __m512i v = Load512(g.qs[i]);
  asm("" : "+v"(v));  // one load, not one folded into each of the two uses
  *lo = _mm512_and_si512(v, m4);
  *hi = _mm512_and_si512(_mm512_srli_epi16(v, 4), m4);
  if constexpr (P::kFifth) {
    const __m512i sixteen = _mm512_set1_epi8(16);
    *lo = _mm512_mask_add_epi8(*lo, _cvtu64_mask64(g.qh[i][0]), *lo, sixteen);
    *hi = _mm512_mask_add_epi8(*hi, _cvtu64_mask64(g.qh[i][1]), *hi, sixteen);
  }
  if constexpr (P::kTable) {
    *lo = _mm512_shuffle_epi8(table, *lo);
    *hi = _mm512_shuffle_epi8(table, *hi);
  }
}

// isum[r][c] += the eight 64-byte slices of weights wq[r] against those of
// activations xq[c] (kTwoChains: the odd slices into isum_hi), slice by
// slice: the slice's C activation vectors loaded once, then each row's
// weight vector once, for its C vpdpbusd. Written the other way round (the
// R weight vectors, then one activation vector per token), GCC 12 loaded
// every weight vector again for each token: 15 loads per 12 vpdpbusd at 4 x
// 3, where Zen 4 loads one 64-byte vector a cycle (clang kept them).
// Measured on the 5632 x 2048 FFN shape, 512 tokens, 1 thread, AMD EPYC VM:
// Q2_K panels 111 -> 139 GMAC/s, Q5_0 133 -> 165, Q8_0 (which also went
// from 2 x 6 to 4 x 3) 125 -> 161.
template <bool kTwoChains, int R, int C>
inline __attribute__((always_inline)) void SliceDots(const uint8_t* (&wq)[R], const int8_t* (&xq)[C],
                                                     __m512i (&isum)[R][C], __m512i (&isum_hi)[R][C]) {
  KVS_UNROLL
  for (int sl = 0; sl < 8; ++sl) {
    __m512i xv[C];
    KVS_UNROLL
    for (int c = 0; c < C; ++c) xv[c] = Load512(xq[c] + 64 * sl);
    KVS_UNROLL
    for (int r = 0; r < R; ++r) {
      const __m512i wv = Load512(wq[r] + 64 * sl);
      KVS_UNROLL
      for (int c = 0; c < C; ++c) {
        __m512i& s = kTwoChains && sl % 2 == 1 ? isum_hi[r][c] : isum[r][c];
        s = _mm512_dpbusd_epi32(s, wv, xv[c]);
      }
    }
  }
}

// The accumulator's start for one token's group: -(sum(x) << kStartShift)
// per block, the codes' integer offset.
template <class P>
inline __attribute__((always_inline)) __m512i StartSum(const ABlockQ8x16& x) {
  if constexpr (P::kStartShift == 0) return _mm512_setzero_si512();
  return _mm512_sub_epi32(_mm512_setzero_si512(), _mm512_slli_epi32(Load512(x.sum), P::kStartShift));
}

// The float steps of one group for an R x C tile: acc += isum * (scale dx),
// and with a min, acc -= min * (dx sum(x)); ScaleOf(r) and MinOf(r) give
// row r's per-block floats. The panel path (simd_panel-inl.h) takes the
// same steps, so that both give the same bits.
template <class P, int R, int C, class ScaleOf, class MinOf>
inline __attribute__((always_inline)) void FinishQ4Group(const ABlockQ8x16* (&x)[C], int64_t g,
                                                         const __m512i (&isum)[R][C], ScaleOf scale_of,
                                                         MinOf min_of, __m512 (&acc)[R][C]) {
  KVS_UNROLL
  for (int c = 0; c < C; ++c) {
    const __m512 dx = _mm512_loadu_ps(x[c][g].d);
    const __m512 xs = P::kHasMin ? _mm512_mul_ps(dx, _mm512_cvtepi32_ps(Load512(x[c][g].sum))) : dx;
    KVS_UNROLL
    for (int r = 0; r < R; ++r) {
      acc[r][c] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(isum[r][c]), _mm512_mul_ps(scale_of(r), dx), acc[r][c]);
      if (P::kHasMin) acc[r][c] = _mm512_fnmadd_ps(min_of(r), xs, acc[r][c]);
    }
  }
}

// Tile 4 x 3 for every P: Q8_0's whole bytes run SliceDots, the others
// unpack each row's codes once per slice pair.
template <class P>
struct PackedQ4Kernel {
  static constexpr int kR = 4;
  static constexpr int kC = 3;

  template <int R, int C>
  static void Tile(const MatMulArgs& a, int64_t row, int64_t tok, int64_t step = 1) {
    // Decode's 2 x 1 tile (two streams' rows, group by group) would
    // otherwise run one chain of eight vpdpbusd (5 cycles each) per row and
    // group; two chains a row, added at the end, give the same integers.
    // (Measured only together with the interleaving: simd_dispatch-inl.h.)
    constexpr bool kTwoChains = R * C <= 2;
    using Group = typename P::Group;
    const Group* w[R];
    const ABlockQ8x16* x[C];
    TileRows(a.w, row, a.w_row_bytes, w, step);
    TileRows(a.xq, tok, a.xq_row_bytes, x);
    __m512 acc[R][C];
    SetAll(acc, _mm512_setzero_ps());
    const __m512i m4 = _mm512_set1_epi8(15);
    const __m512i table = Iq4NlTablePlus128();
    const int64_t ng = (a.cols + kGroupElems - 1) / kGroupElems;
    for (int64_t g = 0; g < ng; ++g) {
      KVS_UNROLL
      for (int r = 0; r < R; ++r) PrefetchLines(a.prefetch_bytes, &w[r][g]);
      __m512i isum[R][C], isum_hi[R][C];
      KVS_UNROLL
      for (int c = 0; c < C; ++c) {
        const __m512i start = StartSum<P>(x[c][g]);
        KVS_UNROLL
        for (int r = 0; r < R; ++r) isum[r][c] = start, isum_hi[r][c] = _mm512_setzero_si512();
      }
      if constexpr (P::kBytes) {
        const uint8_t* wq[R];
        const int8_t* xq[C];
        KVS_UNROLL
        for (int r = 0; r < R; ++r) wq[r] = w[r][g].qs[0];
        KVS_UNROLL
        for (int c = 0; c < C; ++c) xq[c] = x[c][g].qs[0];
        SliceDots<kTwoChains>(wq, xq, isum, isum_hi);
      } else {
        KVS_UNROLL
        for (int i = 0; i < 4; ++i) {
          __m512i lo[R], hi[R];
          KVS_UNROLL
          for (int r = 0; r < R; ++r) UnpackQ4Codes<P>(w[r][g], i, m4, table, &lo[r], &hi[r]);
          KVS_UNROLL
          for (int c = 0; c < C; ++c) {
            const __m512i xl = Load512(x[c][g].qs[2 * i]);
            const __m512i xh = Load512(x[c][g].qs[2 * i + 1]);
            KVS_UNROLL
            for (int r = 0; r < R; ++r) {
              if constexpr (kTwoChains) {
                isum[r][c] = _mm512_dpbusd_epi32(isum[r][c], lo[r], xl);
                isum_hi[r][c] = _mm512_dpbusd_epi32(isum_hi[r][c], hi[r], xh);
              } else {
                isum[r][c] = _mm512_dpbusd_epi32(_mm512_dpbusd_epi32(isum[r][c], lo[r], xl), hi[r], xh);
              }
            }
          }
        }
      }
      if constexpr (kTwoChains) {
        KVS_UNROLL
        for (int r = 0; r < R; ++r)
          KVS_UNROLL
          for (int c = 0; c < C; ++c) isum[r][c] = _mm512_add_epi32(isum[r][c], isum_hi[r][c]);
      }
      __m512 scale[R], min[R];
      KVS_UNROLL
      for (int r = 0; r < R; ++r) P::Scales(w[r][g], &scale[r], &min[r]);
      FinishQ4Group<P>(x, g, isum, [&](int r) { return scale[r]; }, [&](int r) { return min[r]; }, acc);
    }
    StoreTileSums(a, row, tok, step, acc);
  }
};
#endif

// Q6_K: 6-bit quants rebuilt as unsigned bytes 0..63; the -32 offset is
// applied once per super-block through the activation's 16-element sums.
// The 16 scales are widened once per super-block and each 32-element
// step's two (one per 16) taken out by a vpshufb (kBroadcastI16Pair): as
// scalar loads and broadcasts they were most of the avx2 decode's work.
// AVX2 (the path that reads Q6_K in this layout) tiles 1 x 4: matmul_bench,
// 512 tokens, 1 thread, Zen 4 VM, best of 3 alternating, FFN up / down
// GMAC/s: 1 x 2 51.4 / 52.0, 1 x 3 60.9 / 60.3, 1 x 4 66.7 / 65.7, 1 x 6
// 62.5 / 62.1.
struct Q6KKernel {
  static constexpr int kR = kWide ? 2 : 1;
  static constexpr int kC = kWide ? 2 : 4;

  template <int R, int C>
  static void Tile(const MatMulArgs& a, int64_t row, int64_t tok, int64_t step = 1) {
    const WBlockQ6K* w[R];
    const ABlockQ8K* x[C];
    TileRows(a.w, row, a.w_row_bytes, w, step);
    TileRows(a.xq, tok, a.xq_row_bytes, x);
    __m256 acc[R][C];
    SetAll(acc, _mm256_setzero_ps());
    const __m256i m4 = _mm256_set1_epi8(15);
    const __m256i m3 = _mm256_set1_epi8(3);
    const int64_t nb = a.cols / kQKElems;
    for (int64_t b = 0; b < nb; ++b) {
      __m256i isum[R][C];
      KVS_UNROLL
      for (int r = 0; r < R; ++r)
        KVS_UNROLL
        for (int c = 0; c < C; ++c) isum[r][c] = _mm256_setzero_si256();
      const int64_t pf = a.prefetch_bytes;
      KVS_UNROLL
      for (int r = 0; r < R; ++r) {
        Prefetch(pf, &w[r][b]), Prefetch(pf, w[r][b].ql + 64);
        Prefetch(pf, w[r][b].qh + 32), Prefetch(pf, w[r][b].qh + 63);
      }
      __m256i sc16[R];  // the 16 scales as int16
      KVS_UNROLL
      for (int r = 0; r < R; ++r) sc16[r] = _mm256_cvtepi8_epi16(Load128(w[r][b].scales));
      KVS_UNROLL
      for (int h = 0; h < 2; ++h) {
        __m256i sch[R];
        KVS_UNROLL
        for (int r = 0; r < R; ++r) {
          sch[r] = BothHalves(sc16[r], h);  // scales 8h.. in both halves
        }
        KVS_UNROLL
        for (int k = 0; k < 4; ++k) {
          // Step k's codes: low (k < 2) or high nibbles of ql's vector
          // k % 2, with bits 2k, 2k + 1 of qh as bits 4, 5 (built step by
          // step, reloading from L1, so that only the sums stay live).
          __m256i q[R];
          KVS_UNROLL
          for (int r = 0; r < R; ++r) {
            const __m256i l = Load256(w[r][b].ql + 64 * h + 32 * (k % 2));
            const __m256i hb = Load256(w[r][b].qh + 32 * h);
            const __m256i low = _mm256_and_si256(k < 2 ? l : _mm256_srli_epi16(l, 4), m4);
            q[r] = _mm256_or_si256(low, _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(hb, 2 * k), m3), 4));
          }
          // Low half: scale 8h + 2k, high half: 8h + 2k + 1.
          const __m256i pick = Load256(kBroadcastI16Pair[k]);
          __m256i sv[R];
          KVS_UNROLL
          for (int r = 0; r < R; ++r) sv[r] = _mm256_shuffle_epi8(sch[r], pick);
          KVS_UNROLL
          for (int c = 0; c < C; ++c) {
            const __m256i xv = Load256(x[c][b].qs + 128 * h + 32 * k);
            KVS_UNROLL
            for (int r = 0; r < R; ++r) {
              isum[r][c] = DotI16(isum[r][c], _mm256_maddubs_epi16(q[r], xv), sv[r]);
              asm volatile("" : "+x"(isum[r][c]));  // as in PackedQ4KernelAvx2: no hoisting, no spills
            }
          }
        }
      }
      KVS_UNROLL
      for (int r = 0; r < R; ++r) {
        const float d = F16(w[r][b].d);
        KVS_UNROLL
        for (int c = 0; c < C; ++c) {
          const __m256i corr = _mm256_madd_epi16(Load256(x[c][b].bsums), sc16[r]);
          const __m256i v = _mm256_sub_epi32(isum[r][c], _mm256_slli_epi32(corr, 5));
          acc[r][c] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(v), _mm256_set1_ps(d * x[c][b].d), acc[r][c]);
        }
      }
    }
    KVS_UNROLL
    for (int c = 0; c < C; ++c)
      KVS_UNROLL
      for (int r = 0; r < R; ++r) a.out[(tok + c) * a.rows + row + r * step] = Hsum8(acc[r][c]);
  }
};

// F16 / BF16 weights against float activations.
struct LoadF16 {
  static VF Load(const uint16_t* p) { return VLoadF16(p); }
  static VF LoadN(const uint16_t* p, int n) { return VLoadF16N(p, n); }
};
struct LoadBF16 {
  static VF Load(const uint16_t* p) { return VLoadBF16(p); }
  static VF LoadN(const uint16_t* p, int n) { return VLoadBF16N(p, n); }
};

// One accumulator per output; decode takes 4 rows at a time (4 FMA chains).
// Measured on the TinyLlama shape: a 2-accumulator single-row variant
// halved prefill (tile 2x4 instead of 4x4) without speeding decode.
template <class L>
struct HalfKernel {
  static constexpr int kR = kWide ? 4 : 2;
  static constexpr int kC = 4;

  template <int R, int C>
  static void Tile(const MatMulArgs& a, int64_t row, int64_t tok, int64_t step = 1) {
    const uint16_t* w[R];
    const float* x[C];
    TileRows(a.w, row, a.w_row_bytes, w, step);
    TileRows(reinterpret_cast<const uint8_t*>(a.x), tok, a.cols * int64_t{sizeof(float)}, x);
    VF acc[R][C];
    SetAll(acc, VZero());
    int64_t j = 0;
    for (; j + kW <= a.cols; j += kW) {
      VF wv[R];
      KVS_UNROLL
      for (int r = 0; r < R; ++r) Prefetch(a.prefetch_bytes, w[r] + j), wv[r] = L::Load(w[r] + j);
      KVS_UNROLL
      for (int c = 0; c < C; ++c) {
        const VF xv = VLoad(x[c] + j);
        KVS_UNROLL
        for (int r = 0; r < R; ++r) acc[r][c] = VFma(wv[r], xv, acc[r][c]);
      }
    }
    if (j < a.cols) {
      const int n = static_cast<int>(a.cols - j);
      VF wv[R];
      KVS_UNROLL
      for (int r = 0; r < R; ++r) wv[r] = L::LoadN(w[r] + j, n);
      KVS_UNROLL
      for (int c = 0; c < C; ++c) {
        const VF xv = VLoadN(x[c] + j, n);
        KVS_UNROLL
        for (int r = 0; r < R; ++r) acc[r][c] = VFma(wv[r], xv, acc[r][c]);
      }
    }
    StoreTileSums(a, row, tok, step, acc);
  }
};

}  // namespace
}  // namespace kvs::cpu::KVS_SIMD_NS
