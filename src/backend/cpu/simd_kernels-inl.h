// SIMD kernels, written once and compiled twice: kernels_avx2.cc and
// kernels_avx512.cc define KVS_SIMD_NS and include this file, each with its
// own compiler flags. Only those two files may include it (it uses
// intrinsics). Everything here has internal linkage (anonymous namespace) and
// calls no std:: templates, so that no AVX-512 code can be linked into a
// caller on the AVX2 path. Exempt from the 400-line guideline as a SIMD
// kernel file.
//
// Float vectors are 16 lanes on AVX-512, 8 on AVX2. Integer dot products
// work on 32-byte blocks in both: VNNI (vpdpbusd / vpdpwssd) where the
// compiler targets AVX-512 VNNI, maddubs + madd otherwise.
//
// Batch invariance: each output element is computed by the same sequence of
// operations (one accumulator, blocks in order, the same horizontal sum)
// whichever tile shape computes it, so out[t] does not depend on n.
#ifndef KVS_SIMD_NS
#error "define KVS_SIMD_NS before including simd_kernels-inl.h"
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

// ---------------------------------------------------------------- quantize x

// Quantizes one 32-element block: d and the rounded int8 values.
inline float QuantizeBlock32(const float* xb, int8_t* qs) {
  VF m = VZero();
  for (int i = 0; i < kQ8Elems; i += kW) m = VMax(m, VAbs(VLoad(xb + i)));
  const float d = VHmax(m) / 127.0f;
  const VF id = VSet1(d != 0.0f ? 1.0f / d : 0.0f);
  for (int i = 0; i < kQ8Elems; i += kW) VStoreI8(qs + i, VMul(VLoad(xb + i), id));
  return d;
}

#if defined(__AVX512VNNI__)
// Q4_0 activations on AVX-512 VNNI, in groups of g <= kQ4Group blocks (the
// last group of a row may be short), each group 36 g bytes like g ABlockQ8:
//   float d[g]; uint8 lo[g][16] = x[32k + i] + 128; uint8 hi[g][16] = x[32k + 16 + i] + 128
// so that the low / high nibbles of g weight blocks line up with one
// contiguous load each (see Q4_0KernelVnni).
constexpr int kQ4Group = 4;
void QuantizeRowQ4_0Vnni(const float* x, int64_t cols, uint8_t* out) {
  const int64_t nb = cols / kQ8Elems;
  for (int64_t b0 = 0; b0 < nb; b0 += kQ4Group) {
    const int g = nb - b0 < kQ4Group ? static_cast<int>(nb - b0) : kQ4Group;
    uint8_t* base = out + b0 * int64_t{sizeof(ABlockQ8)};
    for (int k = 0; k < g; ++k) {
      int8_t tmp[kQ8Elems];
      const float d = QuantizeBlock32(x + (b0 + k) * kQ8Elems, tmp);
      std::memcpy(base + 4 * k, &d, sizeof(float));
      const __m256i v = _mm256_xor_si256(Load256(tmp), _mm256_set1_epi8(-128));
      _mm_storeu_si128(reinterpret_cast<__m128i*>(base + 4 * g + 16 * k), _mm256_castsi256_si128(v));
      _mm_storeu_si128(reinterpret_cast<__m128i*>(base + 20 * g + 16 * k), _mm256_extracti128_si256(v, 1));
    }
  }
}
#endif

void QuantizeRow(DType wtype, const float* x, int64_t cols, uint8_t* out) {
#if defined(__AVX512VNNI__)
  if (wtype == DType::kQ4_0) return QuantizeRowQ4_0Vnni(x, cols, out);
#endif
  if (wtype == DType::kQ8_0 || wtype == DType::kQ4_0) {
    auto* q = reinterpret_cast<ABlockQ8*>(out);
    for (int64_t b = 0; b < cols / kQ8Elems; ++b) {
      const float* xb = x + b * kQ8Elems;
      VF m = VZero();
      for (int i = 0; i < kQ8Elems; i += kW) m = VMax(m, VAbs(VLoad(xb + i)));
      const float d = VHmax(m) / 127.0f;
      const VF id = VSet1(d != 0.0f ? 1.0f / d : 0.0f);
      q[b].d = d;
      for (int i = 0; i < kQ8Elems; i += kW) VStoreI8(q[b].qs + i, VMul(VLoad(xb + i), id));
#if defined(__AVX512VNNI__)
      // Q32KernelVnni reads x + 128 as unsigned bytes (see there).
      const __m256i v = Load256(q[b].qs);
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(q[b].qs), _mm256_xor_si256(v, _mm256_set1_epi8(-128)));
#endif
    }
    return;
  }
  auto* q = reinterpret_cast<ABlockQ8K*>(out);
  for (int64_t b = 0; b < cols / kQKElems; ++b) {
    const float* xb = x + b * kQKElems;
    VF m = VZero();
    for (int i = 0; i < kQKElems; i += kW) m = VMax(m, VAbs(VLoad(xb + i)));
    const float d = VHmax(m) / 127.0f;
    const VF id = VSet1(d != 0.0f ? 1.0f / d : 0.0f);
    q[b].d = d;
    for (int i = 0; i < kQKElems; i += kW) VStoreI8(q[b].qs + i, VMul(VLoad(xb + i), id));
    KVS_UNROLL
    for (int j = 0; j < kQKElems / 16; ++j) {
      // 16 int8 -> int16, summed in a fixed order.
      const __m256i v = _mm256_cvtepi8_epi16(Load128(q[b].qs + 16 * j));
      const __m256i s32 = _mm256_madd_epi16(v, _mm256_set1_epi16(1));
      __m128i s = _mm_add_epi32(_mm256_castsi256_si128(s32), _mm256_extracti128_si256(s32, 1));
      s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4e));
      s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xb1));
      q[b].bsums[j] = static_cast<int16_t>(_mm_cvtsi128_si32(s));
    }
#if defined(__AVX512VNNI__)
    if (wtype == DType::kQ4_K) {
      // Q4KKernelZ reads each 128 elements as [sub-blocks 0, 2 | 1, 3]
      // (bsums above stay in element order).
      for (int h = 0; h < 2; ++h) {
        int8_t* p = q[b].qs + 128 * h;
        const __m256i s1 = Load256(p + 32), s2 = Load256(p + 64);
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(p + 32), s2);
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(p + 64), s1);
      }
    }
#endif
  }
}

// ---------------------------------------------------------------- tiles
// Each Tile<R, C>(a, row, tok) computes out[tok + c, row + r] for r < R,
// c < C. Each kernel type also names its tile shapes: kR x kC for n > 1,
// kRDecode x 1 for n == 1.

// Software prefetch distance along each weight row. Measured here: without
// it a decode matvec from DRAM ran at a fixed ~800 cycles per row whatever
// the row's bytes (latency-bound), with it at the bandwidth limit.
constexpr int kPrefetchBytes = 1024;
inline void Prefetch(const void* p) {
  _mm_prefetch(static_cast<const char*>(p) + kPrefetchBytes, _MM_HINT_T0);
}

#if defined(__AVX512F__)
constexpr int kWide = 1;  // 32 vector registers
#else
constexpr int kWide = 0;  // 16
#endif

// Q8_0 and Q4_0 weights: 32-element blocks turned into signed bytes, dotted
// with |w| (unsigned) and sign(x, w) so that the products keep their sign.
struct UnpackQ8_0 {
  using Block = WBlockQ8_0;
  static __m256i Q(const Block& b) { return Load256(b.qs); }
};
struct UnpackQ4_0 {
  using Block = WBlockQ4_0;
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
  static constexpr int kRDecode = 1;

  template <int R, int C>
  static void Tile(const MatMulArgs& a, int64_t row, int64_t tok) {
    using Block = typename U::Block;
    const Block* w[R];
    const ABlockQ8* x[C];
    KVS_UNROLL
    for (int r = 0; r < R; ++r) w[r] = reinterpret_cast<const Block*>(a.w + (row + r) * a.w_row_bytes);
    KVS_UNROLL
    for (int c = 0; c < C; ++c) x[c] = reinterpret_cast<const ABlockQ8*>(a.xq + (tok + c) * a.xq_row_bytes);
    __m256 acc[R][C];
    KVS_UNROLL
    for (int r = 0; r < R; ++r)
      KVS_UNROLL
      for (int c = 0; c < C; ++c) acc[r][c] = _mm256_setzero_ps();
    const int64_t nb = a.cols / kQ8Elems;
    for (int64_t b = 0; b < nb; ++b) {
      __m256i wq[R], wabs[R];
      float dw[R];
      KVS_UNROLL
      for (int r = 0; r < R; ++r) {
        Prefetch(&w[r][b]);
        wq[r] = U::Q(w[r][b]);
        wabs[r] = _mm256_abs_epi8(wq[r]);  // -128 -> 0x80 = 128 unsigned: still exact
        dw[r] = F16(w[r][b].d);
      }
      KVS_UNROLL
      for (int c = 0; c < C; ++c) {
        const __m256i xv = Load256(x[c][b].qs);
        const float dx = x[c][b].d;
        KVS_UNROLL
        for (int r = 0; r < R; ++r) {
          const __m256i p = DotU8S8(_mm256_setzero_si256(), wabs[r], _mm256_sign_epi8(xv, wq[r]));
          acc[r][c] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p), _mm256_set1_ps(dw[r] * dx), acc[r][c]);
        }
      }
    }
    KVS_UNROLL
    for (int c = 0; c < C; ++c)
      KVS_UNROLL
      for (int r = 0; r < R; ++r) a.out[(tok + c) * a.rows + row + r] = Hsum8(acc[r][c]);
  }
};

#if defined(__AVX512VNNI__)
// Q8_0 / Q4_0 on AVX-512 VNNI: two blocks per 512-bit step, so that every
// instruction does twice the work and the accumulator chain is half as
// long. x is stored as x + 128 (unsigned), so vpdpbusd(x + 128, w) needs no
// sign fix-up per (row, token) pair: it adds 128 * sum(w), subtracted once
// per weight block through the accumulator's initial value.
// Register-only: vpsignb (VEX, ymm0-15) forced spills in Q32Kernel here.
template <class U>
struct Q32KernelVnni {
  static constexpr int kR = 2;
  static constexpr int kC = 8;
  static constexpr int kRDecode = 1;

  template <int R, int C>
  static void Tile(const MatMulArgs& a, int64_t row, int64_t tok) {
    using Block = typename U::Block;
    const Block* w[R];
    const ABlockQ8* x[C];
    KVS_UNROLL
    for (int r = 0; r < R; ++r) w[r] = reinterpret_cast<const Block*>(a.w + (row + r) * a.w_row_bytes);
    KVS_UNROLL
    for (int c = 0; c < C; ++c) x[c] = reinterpret_cast<const ABlockQ8*>(a.xq + (tok + c) * a.xq_row_bytes);
    __m512 acc[R][C];
    KVS_UNROLL
    for (int r = 0; r < R; ++r)
      KVS_UNROLL
      for (int c = 0; c < C; ++c) acc[r][c] = _mm512_setzero_ps();
    const __m512i c128 = _mm512_set1_epi8(-128);
    const int64_t nb = a.cols / kQ8Elems;
    for (int64_t b = 0; b < nb; b += 2) {
      const bool two = b + 1 < nb;  // an odd last block pairs with zeros
      __m512i wq[R], ncorr[R];
      __m512 dw[R];
      KVS_UNROLL
      for (int r = 0; r < R; ++r) {
        Prefetch(&w[r][b]);
        const __m256i qa = U::Q(w[r][b]);
        const __m256i qb = two ? U::Q(w[r][b + 1]) : _mm256_setzero_si256();
        wq[r] = _mm512_inserti64x4(_mm512_castsi256_si512(qa), qb, 1);
        ncorr[r] = _mm512_sub_epi32(_mm512_setzero_si512(),
                                    _mm512_dpbusd_epi32(_mm512_setzero_si512(), c128, wq[r]));
        const float da = F16(w[r][b].d), db = two ? F16(w[r][b + 1].d) : 0.0f;
        dw[r] = _mm512_insertf32x8(_mm512_set1_ps(da), _mm256_set1_ps(db), 1);
      }
      KVS_UNROLL
      for (int c = 0; c < C; ++c) {
        const __m256i xa = Load256(x[c][b].qs);
        const __m256i xb = two ? Load256(x[c][b + 1].qs) : _mm256_setzero_si256();
        const __m512i xv = _mm512_inserti64x4(_mm512_castsi256_si512(xa), xb, 1);
        const float dxa = x[c][b].d, dxb = two ? x[c][b + 1].d : 0.0f;
        const __m512 dx = _mm512_insertf32x8(_mm512_set1_ps(dxa), _mm256_set1_ps(dxb), 1);
        KVS_UNROLL
        for (int r = 0; r < R; ++r) {
          const __m512i p = _mm512_dpbusd_epi32(ncorr[r], xv, wq[r]);
          acc[r][c] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(p), _mm512_mul_ps(dw[r], dx), acc[r][c]);
        }
      }
    }
    KVS_UNROLL
    for (int c = 0; c < C; ++c)
      KVS_UNROLL
      for (int r = 0; r < R; ++r) a.out[(tok + c) * a.rows + row + r] = VHsum(acc[r][c]);
  }
};
#endif

#if defined(__AVX512VNNI__)
// Q4_0 on AVX-512 VNNI: four blocks (128 elements) per step. The four
// blocks' 18-byte records are fetched with two 64-byte loads and one word
// permute (quants and scales sit at even offsets), the nibbles unpacked
// with one and / shift per 64 bytes, and the activations are stored
// pre-split into low / high halves (QuantizeRowQ4_0Vnni) so that int32 lanes
// 4k..4k+3 hold block k's partial sums. x is stored as x + 128, corrected as
// in Q32KernelVnni through the accumulator's initial value; one convert,
// multiply and FMA per 4 blocks per (row, token).
alignas(64) constexpr int16_t kQ4QsIdx[32] = {  // words 9k+1..9k+8 of the 4 records
    1,  2,  3,  4,  5,  6,  7,  8,  10, 11, 12, 13, 14, 15, 16, 17,
    19, 20, 21, 22, 23, 24, 25, 26, 28, 29, 30, 31,
    60, 61, 62, 63};  // words 32..35: words 28..31 of the second load (bytes 8..71), index 32 + 28..
alignas(64) constexpr int16_t kQ4DIdx[32] = {0,  0,  0,  0,  9,  9,  9,  9,  18, 18, 18,
                                             18, 27, 27, 27, 27, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
alignas(64) constexpr int32_t kQ4XIdx[16] = {0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3};

struct Q4_0KernelVnni {
  static constexpr int kR = 2;
  static constexpr int kC = 8;
  static constexpr int kRDecode = 1;

  // One group of g blocks (g == kQ4Group when kFull); w[r] points at the
  // group's first weight block, x[c] at the group's activations.
  template <int R, int C, bool kFull>
  static inline __attribute__((always_inline)) void Group(const uint8_t* const* w, const uint8_t* const* x, int g,
                                                          __m512 (&acc)[R][C]) {
    const __m512i m4 = _mm512_set1_epi8(15);
    const __m512i c8 = _mm512_set1_epi8(8);
    const __m512i c128 = _mm512_set1_epi8(-128);
    const __m512i qidx = _mm512_load_si512(kQ4QsIdx);
    const __m512i didx = _mm512_load_si512(kQ4DIdx);
    const __m512i xidx = _mm512_load_si512(kQ4XIdx);
    __m512i wlo[R], whi[R], ncorr[R];
    __m512 dw[R];
    KVS_UNROLL
    for (int r = 0; r < R; ++r) {
      Prefetch(w[r]);
      Prefetch(w[r] + 64);
      __m512i lo_rec, hi_rec;
      if (kFull) {
        lo_rec = _mm512_loadu_si512(w[r]);
        hi_rec = _mm512_loadu_si512(w[r] + 8);
      } else {
        lo_rec = _mm512_maskz_loadu_epi8((__mmask64{1} << (18 * g)) - 1, w[r]);
        hi_rec = _mm512_setzero_si512();
      }
      const __m512i q = _mm512_permutex2var_epi16(lo_rec, qidx, hi_rec);
      wlo[r] = _mm512_sub_epi8(_mm512_and_si512(q, m4), c8);
      whi[r] = _mm512_sub_epi8(_mm512_and_si512(_mm512_srli_epi16(q, 4), m4), c8);
      ncorr[r] = _mm512_sub_epi32(_mm512_setzero_si512(),
                                  _mm512_dpbusd_epi32(_mm512_setzero_si512(), c128,
                                                      _mm512_add_epi8(wlo[r], whi[r])));
      dw[r] = _mm512_cvtph_ps(_mm512_castsi512_si256(_mm512_permutexvar_epi16(didx, lo_rec)));
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
      KVS_UNROLL
      for (int r = 0; r < R; ++r) {
        const __m512i p = _mm512_dpbusd_epi32(_mm512_dpbusd_epi32(ncorr[r], xlo, wlo[r]), xhi, whi[r]);
        acc[r][c] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(p), _mm512_mul_ps(dw[r], dx), acc[r][c]);
      }
    }
  }

  template <int R, int C>
  static void Tile(const MatMulArgs& a, int64_t row, int64_t tok) {
    const uint8_t* w[R];
    const uint8_t* x[C];
    KVS_UNROLL
    for (int r = 0; r < R; ++r) w[r] = a.w + (row + r) * a.w_row_bytes;
    KVS_UNROLL
    for (int c = 0; c < C; ++c) x[c] = a.xq + (tok + c) * a.xq_row_bytes;
    __m512 acc[R][C];
    KVS_UNROLL
    for (int r = 0; r < R; ++r)
      KVS_UNROLL
      for (int c = 0; c < C; ++c) acc[r][c] = _mm512_setzero_ps();
    const int64_t nb = a.cols / kQ8Elems;
    int64_t b = 0;
    for (; b + kQ4Group <= nb; b += kQ4Group) {
      const uint8_t* wg[R];
      const uint8_t* xg[C];
      KVS_UNROLL
      for (int r = 0; r < R; ++r) wg[r] = w[r] + b * int64_t{sizeof(WBlockQ4_0)};
      KVS_UNROLL
      for (int c = 0; c < C; ++c) xg[c] = x[c] + b * int64_t{sizeof(ABlockQ8)};
      Group<R, C, true>(wg, xg, kQ4Group, acc);
    }
    if (b < nb) {
      const uint8_t* wg[R];
      const uint8_t* xg[C];
      KVS_UNROLL
      for (int r = 0; r < R; ++r) wg[r] = w[r] + b * int64_t{sizeof(WBlockQ4_0)};
      KVS_UNROLL
      for (int c = 0; c < C; ++c) xg[c] = x[c] + b * int64_t{sizeof(ABlockQ8)};
      Group<R, C, false>(wg, xg, static_cast<int>(nb - b), acc);
    }
    KVS_UNROLL
    for (int c = 0; c < C; ++c)
      KVS_UNROLL
      for (int r = 0; r < R; ++r) a.out[(tok + c) * a.rows + row + r] = VHsum(acc[r][c]);
  }
};
#endif

inline void ScaleMinK4(int j, const uint8_t* q, int* scale, int* min) {
  if (j < 4) {
    *scale = q[j] & 63;
    *min = q[j + 4] & 63;
  } else {
    *scale = (q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4);
    *min = (q[j + 4] >> 4) | ((q[j] >> 6) << 4);
  }
}

// Q4_K: per super-block, int32 lanes collect sum_s scale_s * dot(q_s, x_s);
// the mins term uses the activation's 16-element sums.
struct Q4KKernel {
  static constexpr int kR = kWide ? 2 : 1;
  static constexpr int kC = kWide ? 4 : 3;
  static constexpr int kRDecode = 1;

  template <int R, int C>
  static void Tile(const MatMulArgs& a, int64_t row, int64_t tok) {
    const WBlockQ4K* w[R];
    const ABlockQ8K* x[C];
    KVS_UNROLL
    for (int r = 0; r < R; ++r) w[r] = reinterpret_cast<const WBlockQ4K*>(a.w + (row + r) * a.w_row_bytes);
    KVS_UNROLL
    for (int c = 0; c < C; ++c) x[c] = reinterpret_cast<const ABlockQ8K*>(a.xq + (tok + c) * a.xq_row_bytes);
    __m256 acc[R][C];
    float acc_min[R][C];
    KVS_UNROLL
    for (int r = 0; r < R; ++r)
      KVS_UNROLL
      for (int c = 0; c < C; ++c) acc[r][c] = _mm256_setzero_ps(), acc_min[r][c] = 0.0f;
    const __m256i m4 = _mm256_set1_epi8(15);
    const int64_t nb = a.cols / kQKElems;
    for (int64_t b = 0; b < nb; ++b) {
      int sc[R][8], mn[R][8];
      KVS_UNROLL
      for (int r = 0; r < R; ++r)
        KVS_UNROLL
        for (int s = 0; s < 8; ++s) ScaleMinK4(s, w[r][b].scales, &sc[r][s], &mn[r][s]);
      KVS_UNROLL
      for (int r = 0; r < R; ++r) Prefetch(&w[r][b]), Prefetch(w[r][b].qs + 64);
      __m256i isum[R][C];
      KVS_UNROLL
      for (int r = 0; r < R; ++r)
        KVS_UNROLL
        for (int c = 0; c < C; ++c) isum[r][c] = _mm256_setzero_si256();
      KVS_UNROLL
      for (int j = 0; j < 4; ++j) {
        __m256i lo[R], hi[R], s_lo[R], s_hi[R];
        KVS_UNROLL
        for (int r = 0; r < R; ++r) {
          const __m256i v = Load256(w[r][b].qs + 32 * j);
          lo[r] = _mm256_and_si256(v, m4);
          hi[r] = _mm256_and_si256(_mm256_srli_epi16(v, 4), m4);
          s_lo[r] = _mm256_set1_epi16(static_cast<int16_t>(sc[r][2 * j]));
          s_hi[r] = _mm256_set1_epi16(static_cast<int16_t>(sc[r][2 * j + 1]));
        }
        KVS_UNROLL
        for (int c = 0; c < C; ++c) {
          const __m256i x0 = Load256(x[c][b].qs + 64 * j);
          const __m256i x1 = Load256(x[c][b].qs + 64 * j + 32);
          KVS_UNROLL
          for (int r = 0; r < R; ++r) {
            isum[r][c] = DotI16(isum[r][c], _mm256_maddubs_epi16(lo[r], x0), s_lo[r]);
            isum[r][c] = DotI16(isum[r][c], _mm256_maddubs_epi16(hi[r], x1), s_hi[r]);
          }
        }
      }
      KVS_UNROLL
      for (int r = 0; r < R; ++r) {
        const float d = F16(w[r][b].d);
        const float dmin = F16(w[r][b].dmin);
        KVS_UNROLL
        for (int c = 0; c < C; ++c) {
          const int16_t* bs = x[c][b].bsums;
          int32_t msum = 0;
          KVS_UNROLL
          for (int s = 0; s < 8; ++s) msum += mn[r][s] * (bs[2 * s] + bs[2 * s + 1]);
          acc[r][c] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum[r][c]), _mm256_set1_ps(d * x[c][b].d),
                                      acc[r][c]);
          acc_min[r][c] = __builtin_fmaf(static_cast<float>(msum), dmin * x[c][b].d, acc_min[r][c]);
        }
      }
    }
    KVS_UNROLL
    for (int c = 0; c < C; ++c)
      KVS_UNROLL
      for (int r = 0; r < R; ++r)
        a.out[(tok + c) * a.rows + row + r] = Hsum8(acc[r][c]) - acc_min[r][c];
  }
};

#if defined(__AVX512VNNI__)
// Q4_K on AVX-512: 64 elements (two sub-blocks) per 512-bit step. A 64-byte
// load of quants holds sub-blocks 4h, 4h+2 in its low nibbles and 4h+1,
// 4h+3 in its high ones; QuantizeRow stores Q4_K activations in that order
// (per 128 elements: sub-blocks 0, 2, 1, 3), so each nibble half lines up
// with 64 consecutive activation bytes, one and / shift unpacks 128 quants,
// and one vpdpwssd applies two sub-blocks' scales.
struct Q4KKernelZ {
  static constexpr int kR = 2;
  static constexpr int kC = 4;
  static constexpr int kRDecode = 1;

  template <int R, int C>
  static void Tile(const MatMulArgs& a, int64_t row, int64_t tok) {
    const WBlockQ4K* w[R];
    const ABlockQ8K* x[C];
    KVS_UNROLL
    for (int r = 0; r < R; ++r) w[r] = reinterpret_cast<const WBlockQ4K*>(a.w + (row + r) * a.w_row_bytes);
    KVS_UNROLL
    for (int c = 0; c < C; ++c) x[c] = reinterpret_cast<const ABlockQ8K*>(a.xq + (tok + c) * a.xq_row_bytes);
    __m512 acc[R][C];
    __m256 acc_min[R][C];
    KVS_UNROLL
    for (int r = 0; r < R; ++r)
      KVS_UNROLL
      for (int c = 0; c < C; ++c) acc[r][c] = _mm512_setzero_ps(), acc_min[r][c] = _mm256_setzero_ps();
    const __m512i m4z = _mm512_set1_epi8(15);
    const int64_t nb = a.cols / kQKElems;
    for (int64_t b = 0; b < nb; ++b) {
      // The 8 six-bit scales and mins, unpacked with word operations:
      // scales 0-3 / mins 0-3 are the low 6 bits of bytes 0-3 / 4-7;
      // scales 4-7 / mins 4-7 take their low 4 bits from bytes 8-11 and
      // their top 2 bits from the top of bytes 0-3 / 4-7.
      __m512i sc16[R];  // [scale 0..7 as int16, rest 0]
      __m256i mn16[R];  // [min 0, min 0, min 1, min 1, ..., min 7, min 7] as int16
      KVS_UNROLL
      for (int r = 0; r < R; ++r) {
        Prefetch(&w[r][b]);
        Prefetch(w[r][b].qs + 64);
        uint32_t q[3];
        std::memcpy(q, w[r][b].scales, 12);
        const uint32_t sc_lo = q[0] & 0x3f3f3f3fu;
        const uint32_t mn_lo = q[1] & 0x3f3f3f3fu;
        const uint32_t sc_hi = (q[2] & 0x0f0f0f0fu) | (((q[0] >> 6) & 0x03030303u) << 4);
        const uint32_t mn_hi = ((q[2] >> 4) & 0x0f0f0f0fu) | (((q[1] >> 6) & 0x03030303u) << 4);
        const __m128i scb = _mm_cvtsi64_si128(static_cast<int64_t>(sc_lo | (uint64_t{sc_hi} << 32)));
        const __m128i mnb = _mm_cvtsi64_si128(static_cast<int64_t>(mn_lo | (uint64_t{mn_hi} << 32)));
        sc16[r] = _mm512_castsi128_si512(_mm_cvtepu8_epi16(scb));
        const __m128i m = _mm_cvtepu8_epi16(mnb);
        mn16[r] = _mm256_set_m128i(_mm_unpackhi_epi16(m, m), _mm_unpacklo_epi16(m, m));
      }
      __m512i isum[R][C];
      KVS_UNROLL
      for (int r = 0; r < R; ++r)
        KVS_UNROLL
        for (int c = 0; c < C; ++c) isum[r][c] = _mm512_setzero_si512();
      KVS_UNROLL
      for (int h = 0; h < 2; ++h) {
        // 64 quant bytes: low nibbles = sub-blocks 4h, 4h+2; high = 4h+1, 4h+3,
        // matching the activation order QuantizeRow stores for Q4_K.
        __m512i qlo[R], qhi[R], slo[R], shi[R];
        const __m512i idx_lo = _mm512_inserti64x4(_mm512_set1_epi16(static_cast<int16_t>(4 * h)),
                                                  _mm256_set1_epi16(static_cast<int16_t>(4 * h + 2)), 1);
        const __m512i idx_hi = _mm512_inserti64x4(_mm512_set1_epi16(static_cast<int16_t>(4 * h + 1)),
                                                  _mm256_set1_epi16(static_cast<int16_t>(4 * h + 3)), 1);
        KVS_UNROLL
        for (int r = 0; r < R; ++r) {
          const __m512i v = _mm512_loadu_si512(w[r][b].qs + 64 * h);
          qlo[r] = _mm512_and_si512(v, m4z);
          qhi[r] = _mm512_and_si512(_mm512_srli_epi16(v, 4), m4z);
          slo[r] = _mm512_permutexvar_epi16(idx_lo, sc16[r]);
          shi[r] = _mm512_permutexvar_epi16(idx_hi, sc16[r]);
        }
        KVS_UNROLL
        for (int c = 0; c < C; ++c) {
          const __m512i xlo = _mm512_loadu_si512(x[c][b].qs + 128 * h);
          const __m512i xhi = _mm512_loadu_si512(x[c][b].qs + 128 * h + 64);
          KVS_UNROLL
          for (int r = 0; r < R; ++r) {
            isum[r][c] = _mm512_dpwssd_epi32(isum[r][c], _mm512_maddubs_epi16(qlo[r], xlo), slo[r]);
            isum[r][c] = _mm512_dpwssd_epi32(isum[r][c], _mm512_maddubs_epi16(qhi[r], xhi), shi[r]);
          }
        }
      }
      // Scales broadcast once per row / token, multiplied per pair as
      // vectors (the same float product as d * dx, fewer instructions).
      __m512 dxv[C];
      KVS_UNROLL
      for (int c = 0; c < C; ++c) dxv[c] = _mm512_set1_ps(x[c][b].d);
      KVS_UNROLL
      for (int r = 0; r < R; ++r) {
        const __m512 dv = _mm512_set1_ps(F16(w[r][b].d));
        const __m256 dminv = _mm256_set1_ps(F16(w[r][b].dmin));
        KVS_UNROLL
        for (int c = 0; c < C; ++c) {
          const __m256i msum = _mm256_madd_epi16(Load256(x[c][b].bsums), mn16[r]);
          acc[r][c] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(isum[r][c]), _mm512_mul_ps(dv, dxv[c]), acc[r][c]);
          acc_min[r][c] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(msum),
                                          _mm256_mul_ps(dminv, _mm512_castps512_ps256(dxv[c])), acc_min[r][c]);
        }
      }
    }
    KVS_UNROLL
    for (int c = 0; c < C; ++c)
      KVS_UNROLL
      for (int r = 0; r < R; ++r)
        a.out[(tok + c) * a.rows + row + r] = VHsum(acc[r][c]) - Hsum8(acc_min[r][c]);
  }
};
#endif

// Q6_K: 6-bit quants rebuilt as unsigned bytes 0..63; the -32 offset is
// applied once per super-block through the activation's 16-element sums.
struct Q6KKernel {
  static constexpr int kR = kWide ? 2 : 1;
  static constexpr int kC = 2;
  static constexpr int kRDecode = 1;

  template <int R, int C>
  static void Tile(const MatMulArgs& a, int64_t row, int64_t tok) {
    const WBlockQ6K* w[R];
    const ABlockQ8K* x[C];
    KVS_UNROLL
    for (int r = 0; r < R; ++r) w[r] = reinterpret_cast<const WBlockQ6K*>(a.w + (row + r) * a.w_row_bytes);
    KVS_UNROLL
    for (int c = 0; c < C; ++c) x[c] = reinterpret_cast<const ABlockQ8K*>(a.xq + (tok + c) * a.xq_row_bytes);
    __m256 acc[R][C];
    KVS_UNROLL
    for (int r = 0; r < R; ++r)
      KVS_UNROLL
      for (int c = 0; c < C; ++c) acc[r][c] = _mm256_setzero_ps();
    const __m256i m4 = _mm256_set1_epi8(15);
    const __m256i m3 = _mm256_set1_epi8(3);
    const int64_t nb = a.cols / kQKElems;
    for (int64_t b = 0; b < nb; ++b) {
      __m256i isum[R][C];
      KVS_UNROLL
      for (int r = 0; r < R; ++r)
        KVS_UNROLL
        for (int c = 0; c < C; ++c) isum[r][c] = _mm256_setzero_si256();
      KVS_UNROLL
      for (int r = 0; r < R; ++r)
        Prefetch(&w[r][b]), Prefetch(w[r][b].ql + 64), Prefetch(w[r][b].qh + 32), Prefetch(w[r][b].qh + 63);
      KVS_UNROLL
      for (int h = 0; h < 2; ++h) {
        __m256i q[R][4];
        KVS_UNROLL
        for (int r = 0; r < R; ++r) {
          const __m256i la = Load256(w[r][b].ql + 64 * h);
          const __m256i lb = Load256(w[r][b].ql + 64 * h + 32);
          const __m256i hb = Load256(w[r][b].qh + 32 * h);
          auto high = [&](int shift) {
            return _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(hb, shift), m3), 4);
          };
          q[r][0] = _mm256_or_si256(_mm256_and_si256(la, m4), high(0));
          q[r][1] = _mm256_or_si256(_mm256_and_si256(lb, m4), high(2));
          q[r][2] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(la, 4), m4), high(4));
          q[r][3] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(lb, 4), m4), high(6));
        }
        KVS_UNROLL
        for (int k = 0; k < 4; ++k) {
          __m256i sv[R];
          KVS_UNROLL
          for (int r = 0; r < R; ++r) {
            const int8_t* s = w[r][b].scales + 8 * h + 2 * k;
            sv[r] = _mm256_set_m128i(_mm_set1_epi16(s[1]), _mm_set1_epi16(s[0]));
          }
          KVS_UNROLL
          for (int c = 0; c < C; ++c) {
            const __m256i xv = Load256(x[c][b].qs + 128 * h + 32 * k);
            KVS_UNROLL
            for (int r = 0; r < R; ++r)
              isum[r][c] = DotI16(isum[r][c], _mm256_maddubs_epi16(q[r][k], xv), sv[r]);
          }
        }
      }
      KVS_UNROLL
      for (int r = 0; r < R; ++r) {
        const __m256i sc16 = _mm256_cvtepi8_epi16(Load128(w[r][b].scales));
        const float d = F16(w[r][b].d);
        KVS_UNROLL
        for (int c = 0; c < C; ++c) {
          const __m256i corr = _mm256_madd_epi16(Load256(x[c][b].bsums), sc16);
          const __m256i v = _mm256_sub_epi32(isum[r][c], _mm256_slli_epi32(corr, 5));
          acc[r][c] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(v), _mm256_set1_ps(d * x[c][b].d), acc[r][c]);
        }
      }
    }
    KVS_UNROLL
    for (int c = 0; c < C; ++c)
      KVS_UNROLL
      for (int r = 0; r < R; ++r) a.out[(tok + c) * a.rows + row + r] = Hsum8(acc[r][c]);
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
  static constexpr int kRDecode = 4;

  template <int R, int C>
  static void Tile(const MatMulArgs& a, int64_t row, int64_t tok) {
    const uint16_t* w[R];
    const float* x[C];
    KVS_UNROLL
    for (int r = 0; r < R; ++r) w[r] = reinterpret_cast<const uint16_t*>(a.w + (row + r) * a.w_row_bytes);
    KVS_UNROLL
    for (int c = 0; c < C; ++c) x[c] = a.x + (tok + c) * a.cols;
    VF acc[R][C];
    KVS_UNROLL
    for (int r = 0; r < R; ++r)
      KVS_UNROLL
      for (int c = 0; c < C; ++c) acc[r][c] = VZero();
    int64_t j = 0;
    for (; j + kW <= a.cols; j += kW) {
      VF wv[R];
      KVS_UNROLL
      for (int r = 0; r < R; ++r) Prefetch(w[r] + j), wv[r] = L::Load(w[r] + j);
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
    KVS_UNROLL
    for (int c = 0; c < C; ++c)
      KVS_UNROLL
      for (int r = 0; r < R; ++r) a.out[(tok + c) * a.rows + row + r] = VHsum(acc[r][c]);
  }
};

// Tokens per pass over a thread's weight rows in the n > 1 path: their
// activations stay in L2 while each weight tile is reused across them.
constexpr int64_t kTokenChunk = 64;

template <class K>
void RunTiles(const MatMulArgs& a, int64_t r0, int64_t r1) {
  constexpr int R = K::kR, C = K::kC, RD = K::kRDecode;
  if (a.n == 1) {
    int64_t r = r0;
    for (; r + RD <= r1; r += RD) K::template Tile<RD, 1>(a, r, 0);
    for (; r < r1; ++r) K::template Tile<1, 1>(a, r, 0);
    return;
  }
  for (int64_t t0 = 0; t0 < a.n; t0 += kTokenChunk) {
    const int64_t t1 = a.n < t0 + kTokenChunk ? a.n : t0 + kTokenChunk;
    int64_t r = r0;
    for (; r + R <= r1; r += R) {
      int64_t t = t0;
      for (; t + C <= t1; t += C) K::template Tile<R, C>(a, r, t);
      for (; t < t1; ++t) K::template Tile<R, 1>(a, r, t);
    }
    for (; r < r1; ++r) {
      int64_t t = t0;
      for (; t + C <= t1; t += C) K::template Tile<1, C>(a, r, t);
      for (; t < t1; ++t) K::template Tile<1, 1>(a, r, t);
    }
  }
}

void MatMulRows(const MatMulArgs& a, int64_t r0, int64_t r1) {
  switch (a.type) {
    case DType::kF32: return MatMulRowsF32Exact(a, r0, r1);
    case DType::kF16: return RunTiles<HalfKernel<LoadF16>>(a, r0, r1);
    case DType::kBF16: return RunTiles<HalfKernel<LoadBF16>>(a, r0, r1);
#if defined(__AVX512VNNI__)
    case DType::kQ8_0: return RunTiles<Q32KernelVnni<UnpackQ8_0>>(a, r0, r1);
    case DType::kQ4_0: return RunTiles<Q4_0KernelVnni>(a, r0, r1);
#else
    case DType::kQ8_0: return RunTiles<Q32Kernel<UnpackQ8_0>>(a, r0, r1);
    case DType::kQ4_0: return RunTiles<Q32Kernel<UnpackQ4_0>>(a, r0, r1);
#endif
#if defined(__AVX512VNNI__)
    case DType::kQ4_K: return RunTiles<Q4KKernelZ>(a, r0, r1);
#else
    case DType::kQ4_K: return RunTiles<Q4KKernel>(a, r0, r1);
#endif
    case DType::kQ6_K: return RunTiles<Q6KKernel>(a, r0, r1);
  }
}

// ---------------------------------------------------------------- attention

inline float DotF(const float* a, const float* b, int n) {
  VF acc = VZero();
  int j = 0;
  for (; j + kW <= n; j += kW) acc = VFma(VLoad(a + j), VLoad(b + j), acc);
  if (j < n) acc = VFma(VLoadN(a + j, n - j), VLoadN(b + j, n - j), acc);
  return VHsum(acc);
}

// y[n] += w * x[n]
inline void Axpy(float* y, float w, const float* x, int n) {
  const VF wv = VSet1(w);
  int j = 0;
  for (; j + kW <= n; j += kW) VStore(y + j, VFma(wv, VLoad(x + j), VLoad(y + j)));
  if (j < n) VStoreN(y + j, VFma(wv, VLoadN(x + j, n - j), VLoadN(y + j, n - j)), n - j);
}

inline void Scale(float* y, float s, int n) {
  const VF sv = VSet1(s);
  int j = 0;
  for (; j + kW <= n; j += kW) VStore(y + j, VMul(sv, VLoad(y + j)));
  if (j < n) VStoreN(y + j, VMul(sv, VLoadN(y + j, n - j)), n - j);
}

void Attention(const PagedAttentionArgs& a, int64_t t, int kvh, float* scratch) {
  const int group = a.n_heads / a.n_kv_heads;
  const int hd = a.head_dim;
  const int64_t kv_dim = int64_t{a.n_kv_heads} * hd;
  float* acc = scratch;                     // [group, hd]
  float* scores = acc + group * hd;         // [group, kAttnChunk]
  float* mx = scores + group * kAttnChunk;  // [group]
  float* sum = mx + group;                  // [group]
  const float* q = a.q + (t * a.n_heads + int64_t{kvh} * group) * hd;  // [group, hd]
  const int32_t* table = a.block_tables[t];
  for (int g = 0; g < group; ++g) {
    mx[g] = -__builtin_inff();
    sum[g] = 0.0f;
    std::memset(acc + g * hd, 0, hd * sizeof(float));
  }
  const int32_t n_pos = a.positions[t] + 1;
  for (int32_t p0 = 0; p0 < n_pos; p0 += kAttnChunk) {
    const int np = n_pos - p0 < kAttnChunk ? n_pos - p0 : kAttnChunk;
    // Scores: each K row is loaded once for all the group's query heads.
    for (int i = 0; i < np; ++i) {
      const int32_t p = p0 + i;
      const int64_t slot = int64_t{table[p / a.block_size]} * a.block_size + p % a.block_size;
      const float* k = a.k_cache + slot * kv_dim + int64_t{kvh} * hd;
      for (int g = 0; g < group; ++g) scores[g * kAttnChunk + i] = DotF(q + g * hd, k, hd) * a.scale;
    }
    // Online softmax: rescale what came before once per chunk.
    for (int g = 0; g < group; ++g) {
      float* sg = scores + g * kAttnChunk;
      VF m = VSet1(mx[g]);
      int i = 0;
      for (; i + kW <= np; i += kW) m = VMax(m, VLoad(sg + i));
      if (i < np) m = VMax(m, VMax(VLoadN(sg + i, np - i), VSet1(mx[g])));
      const float new_max = VHmax(m);
      const float correction = __builtin_expf(mx[g] - new_max);  // 0 on the first chunk
      mx[g] = new_max;
      const VF mv = VSet1(new_max);
      VF s = VZero();
      for (i = 0; i + kW <= np; i += kW) {
        const VF e = VExp(VSub(VLoad(sg + i), mv));
        VStore(sg + i, e);
        s = VAdd(s, e);
      }
      if (i < np) {
        const VF e = VExp(VSub(VLoadN(sg + i, np - i), mv));
        VStoreN(sg + i, e, np - i);
        s = VAdd(s, VLoadN(sg + i, np - i));
      }
      sum[g] = sum[g] * correction + VHsum(s);
      Scale(acc + g * hd, correction, hd);
    }
    // Values: each V row is loaded once for all the group's query heads.
    for (int i = 0; i < np; ++i) {
      const int32_t p = p0 + i;
      const int64_t slot = int64_t{table[p / a.block_size]} * a.block_size + p % a.block_size;
      const float* v = a.v_cache + slot * kv_dim + int64_t{kvh} * hd;
      for (int g = 0; g < group; ++g) Axpy(acc + g * hd, scores[g * kAttnChunk + i], v, hd);
    }
  }
  for (int g = 0; g < group; ++g) {
    float* o = a.out + (t * a.n_heads + int64_t{kvh} * group + g) * hd;
    const VF inv = VSet1(1.0f / sum[g]);
    int j = 0;
    for (; j + kW <= hd; j += kW) VStore(o + j, VMul(VLoad(acc + g * hd + j), inv));
    if (j < hd) VStoreN(o + j, VMul(VLoadN(acc + g * hd + j, hd - j), inv), hd - j);
  }
}

// ---------------------------------------------------------------- SwiGLU

void SwiGlu(const float* gate, const float* up, int64_t count, float* out) {
  const VF one = VSet1(1.0f);
  int64_t i = 0;
  for (; i + kW <= count; i += kW) {
    const VF g = VLoad(gate + i);
    const VF silu = VMul(g, VDiv(one, VAdd(one, VExp(VSub(VZero(), g)))));
    VStore(out + i, VMul(silu, VLoad(up + i)));
  }
  if (i < count) {
    const int n = static_cast<int>(count - i);
    const VF g = VLoadN(gate + i, n);
    const VF silu = VMul(g, VDiv(one, VAdd(one, VExp(VSub(VZero(), g)))));
    VStoreN(out + i, VMul(silu, VLoadN(up + i, n)), n);
  }
}

#undef KVS_UNROLL

}  // namespace
}  // namespace kvs::cpu::KVS_SIMD_NS
