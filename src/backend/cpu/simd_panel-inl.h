// Part of simd_kernels-inl.h: prefill on AVX-512 VNNI through panels of
// rows unfolded once per MatMul into scratch (KernelTable::panel_matmul_rows).
//
// Why: the packed tiles (PackedQ4Kernel, PackedQ16Kernel) unpack each
// row's codes and scales again for every 3 tokens. Here a panel of rows is
// unfolded once into whole bytes and floats, and the tile loop reads bytes
// as Q8_0's does. Every kernel here computes the same exact integers as its
// packed tile and then the tile's own float steps, in its order, so that
// results equal matmul_rows' bit for bit and a batch stays batch-invariant
// whichever path it takes.
//
// Q2_K gains the most: its packed tile keeps one accumulator per block half
// and applies the two 4-bit scales in float (eight float ops per row, token
// and 512 elements against eight vpdpbusd). Unfolded, its codes are q * sc
// (<= 45, the AMX path's B tiles), so that one accumulator per block lane
// collects the exact integer it = sc0 isum0 + sc1 isum1 that the tile
// computed in float (exactly: it stays below 2^24).
#pragma once
#ifndef KVS_SIMD_NS
#error "include backend/cpu/simd_kernels-inl.h, not this part"
#endif

#include "backend/cpu/simd_dispatch-inl.h"
#include "base/check.h"

namespace kvs::cpu::KVS_SIMD_NS {
namespace {

#if defined(__AVX512VNNI__)
// One PackedQ2KGroup unfolded: qs[sl][4k + j] = q * sc of element 16h + 4i
// + j of block k (slice sl = 2i + h, the activations' order), and per
// block lane the super-block's d and the half mins' weights dmin mn[h]
// (PackedQ2KP::Fold's), as floats.
struct FoldedQ2KGroup {
  uint8_t qs[8][64];
  float d[kGroupBlocks];
  float wm[2][kGroupBlocks];
};
static_assert(sizeof(FoldedQ2KGroup) == kFoldedQ2KGroupBytes && kGroupElems == 512);

// Per 128-bit lane (4 blocks) a vpshufb table whose byte 4 kk + q is q *
// sc[h] of block kk: the index of a code at byte 4 kk + j is q | 4 kk.
inline void FoldQ2KGroup(const PackedQ2KGroup& g, FoldedQ2KGroup* f) {
  __m512 d, sc[2], wm[2];
  PackedQ2KP::Fold(g, &d, sc, wm);
  _mm512_storeu_ps(f->d, d);
  _mm512_storeu_ps(f->wm[0], wm[0]);
  _mm512_storeu_ps(f->wm[1], wm[1]);
  // Byte b of lane L takes scale byte 4 L + (b % 16) / 4 (each lane holds
  // all 16).
  const __m512i spread = _mm512_set_epi32(0x0F0F0F0F, 0x0E0E0E0E, 0x0D0D0D0D, 0x0C0C0C0C,  //
                                          0x0B0B0B0B, 0x0A0A0A0A, 0x09090909, 0x08080808,  //
                                          0x07070707, 0x06060606, 0x05050505, 0x04040404,  //
                                          0x03030303, 0x02020202, 0x01010101, 0x00000000);
  const __m512i block_of_byte =  // 4 kk for the bytes of dword kk of each lane
      _mm512_broadcast_i32x4(_mm_set_epi32(0x0C0C0C0C, 0x08080808, 0x04040404, 0));
  const __m512i q_of_byte = _mm512_set1_epi32(0x03020100);
  const __m512i m3 = _mm512_set1_epi8(3), m15 = _mm512_set1_epi8(15);
  __m512i table[2];
  KVS_UNROLL
  for (int h = 0; h < 2; ++h) {
    const __m512i s = _mm512_and_si512(
        _mm512_shuffle_epi8(_mm512_broadcast_i32x4(Load128(g.scales[h])), spread), m15);
    // q * s for q = 0..3 without a byte multiply: s where q is odd, plus 2 s
    // where q >= 2.
    const __mmask64 odd = _mm512_test_epi8_mask(q_of_byte, _mm512_set1_epi8(1));
    const __mmask64 high = _mm512_test_epi8_mask(q_of_byte, _mm512_set1_epi8(2));
    table[h] = _mm512_mask_add_epi8(_mm512_maskz_mov_epi8(odd, s), high, _mm512_maskz_mov_epi8(odd, s),
                                    _mm512_add_epi8(s, s));
  }
  KVS_UNROLL
  for (int t = 0; t < 2; ++t) {
    const __m512i v = Load512(g.qs[t]);
    KVS_UNROLL
    for (int s = 0; s < 4; ++s) {
      const int sl = 4 * t + s;
      // (v >> 2s) & 3 | 4 kk, one ternary op: A & B | C.
      const __m512i idx = _mm512_ternarylogic_epi32(_mm512_srli_epi16(v, 2 * s), m3, block_of_byte, 0xEA);
      _mm512_storeu_si512(f->qs[sl], _mm512_shuffle_epi8(table[sl % 2], idx));
    }
  }
}

// The packed Q4 family (PackedQ4Kernel's P with 4- or 5-bit codes) unfolded:
// the codes as that tile hands them to vpdpbusd, in the activations' slice
// order, and per block lane P::Scales' scale and min.
struct FoldedQ4Group {
  uint8_t qs[8][64];
  float scale[kGroupBlocks];
  float min[kGroupBlocks];
};
static_assert(sizeof(FoldedQ4Group) == kFoldedQ4GroupBytes);

template <class P>
inline void FoldQ4Group(const typename P::Group& g, FoldedQ4Group* f) {
  const __m512i m4 = _mm512_set1_epi8(15);
  const __m512i table = Iq4NlTablePlus128();
  KVS_UNROLL
  for (int i = 0; i < 4; ++i) {
    __m512i lo, hi;
    UnpackQ4Codes<P>(g, i, m4, table, &lo, &hi);
    _mm512_storeu_si512(f->qs[2 * i], lo);
    _mm512_storeu_si512(f->qs[2 * i + 1], hi);
  }
  __m512 scale, min = _mm512_setzero_ps();
  P::Scales(g, &scale, &min);
  _mm512_storeu_ps(f->scale, scale);
  _mm512_storeu_ps(f->min, min);
}

// The panel tiles: per (row, token, group) E::Start, eight vpdpbusd of the
// unfolded bytes into one accumulator, then E::Finish, the packed tile's
// float steps. E names the unfolded group (Weight) and activation group
// (Act, whose ABlockQ8x16 E::Q gives).
template <class E>
struct FoldedKernel {
  static constexpr int kR = 4;
  static constexpr int kC = 3;

  // Groups [g0, g1) of the tile at (row, tok). A row longer than one pass
  // (kPanelPassGroups) is run in passes, with the accumulators kept in
  // `partial` (16 floats at rr * kPanelPassTokens + cc for row + rr, token
  // tok + cc) between them: the same float steps in the same order, so the
  // same bits as one pass.
  template <int R, int C>
  static void Groups(const MatMulArgs& a, int64_t row, int64_t tok, int64_t g0, int64_t g1, float* partial) {
    constexpr int64_t stride = kPanelPassTokens;
    const typename E::Weight* w[R];
    const typename E::Act* x[C];
    TileRows(a.w, row, a.w_row_bytes, w);
    TileRows(a.xq, tok, a.xq_row_bytes, x);
    __m512 acc[R][C];
    KVS_UNROLL
    for (int r = 0; r < R; ++r)
      KVS_UNROLL
      for (int c = 0; c < C; ++c) {
        acc[r][c] = g0 == 0 ? _mm512_setzero_ps() : _mm512_loadu_ps(partial + 16 * (r * stride + c));
      }
    for (int64_t g = g0; g < g1; ++g) {
      __m512i isum[R][C];
      KVS_UNROLL
      for (int c = 0; c < C; ++c) {
        const __m512i start = E::Start(x[c][g]);
        KVS_UNROLL
        for (int r = 0; r < R; ++r) isum[r][c] = start;
      }
      const uint8_t* wq[R];
      const int8_t* xq[C];
      KVS_UNROLL
      for (int r = 0; r < R; ++r) wq[r] = w[r][g].qs[0];
      KVS_UNROLL
      for (int c = 0; c < C; ++c) xq[c] = E::Q(x[c][g]).qs[0];
      SliceDots<false>(wq, xq, isum, isum);
      E::Finish(w, x, g, isum, acc);
    }
    if (g1 * kGroupElems >= a.cols) {
      StoreTileSums(a, row, tok, 1, acc);
      return;
    }
    KVS_UNROLL
    for (int r = 0; r < R; ++r)
      KVS_UNROLL
      for (int c = 0; c < C; ++c) _mm512_storeu_ps(partial + 16 * (r * stride + c), acc[r][c]);
  }
};

// Q2_K: codes q * sc as they are, then PackedQ2KP::Finish.
struct FoldedQ2K {
  using Weight = FoldedQ2KGroup;
  using Act = ABlockQ8x16H;
  static inline __attribute__((always_inline)) const ABlockQ8x16& Q(const Act& x) { return x.q; }
  static inline __attribute__((always_inline)) __m512i Start(const Act&) { return _mm512_setzero_si512(); }
  template <int R, int C>
  static inline __attribute__((always_inline)) void Finish(const Weight* (&w)[R], const Act* (&x)[C], int64_t g,
                                                           const __m512i (&isum)[R][C], __m512 (&acc)[R][C]) {
    KVS_UNROLL
    for (int c = 0; c < C; ++c) {
      __m512 xm[2];
      PackedQ2KP::HalfSums(x[c][g], xm);
      const __m512 dx = _mm512_loadu_ps(x[c][g].q.d);
      KVS_UNROLL
      for (int r = 0; r < R; ++r) {
        const FoldedQ2KGroup& f = w[r][g];
        const __m512 wm[2] = {_mm512_loadu_ps(f.wm[0]), _mm512_loadu_ps(f.wm[1])};
        acc[r][c] = PackedQ2KP::Finish(acc[r][c], _mm512_cvtepi32_ps(isum[r][c]),
                                       _mm512_mul_ps(_mm512_loadu_ps(f.d), dx), wm, xm);
      }
    }
  }
};

// The packed Q4 family: PackedQ4Kernel's start and float steps.
template <class P>
struct FoldedQ4 {
  using Weight = FoldedQ4Group;
  using Act = ABlockQ8x16;
  static inline __attribute__((always_inline)) const ABlockQ8x16& Q(const Act& x) { return x; }
  static inline __attribute__((always_inline)) __m512i Start(const Act& x) { return StartSum<P>(x); }
  template <int R, int C>
  static inline __attribute__((always_inline)) void Finish(const Weight* (&w)[R], const Act* (&x)[C], int64_t g,
                                                           const __m512i (&isum)[R][C], __m512 (&acc)[R][C]) {
    FinishQ4Group<P>(
        x, g, isum, [&](int r) { return _mm512_loadu_ps(w[r][g].scale); },
        [&](int r) { return _mm512_loadu_ps(w[r][g].min); }, acc);
  }
};

// K's tiles over rows [0, rows) of a panel: per chunk of kPanelPassTokens
// tokens, kPanelPassGroups groups at a time, so that a pass's rows and
// tokens stay in L1. In one pass, FFN-down's 5632 columns read 25 KB of
// weights and 21 KB of activations a 4 x 3 tile, and ran 6-9% slower than
// the 2048 columns of the others (bench/matmul_bench, 1 thread, Zen 4).
template <class K>
void RunPasses(const MatMulArgs& a, int64_t rows, float* partial) {
  constexpr int R = K::kR, C = K::kC;
  constexpr int64_t kChunk = kPanelPassTokens;
  static_assert(kChunk % C == 0);
  const int64_t ng = (a.cols + kGroupElems - 1) / kGroupElems;
  for (int64_t t0 = 0; t0 < a.n; t0 += kChunk) {
    const int64_t t1 = std::min(a.n, t0 + kChunk);
    for (int64_t g0 = 0; g0 < ng; g0 += kPanelPassGroups) {
      const int64_t g1 = std::min(ng, g0 + kPanelPassGroups);
      ForEachTile<R, C>(0, rows, t0, t1, [&]<int TR, int TC>(int64_t r, int64_t t) {
        K::template Groups<TR, TC>(a, r, t, g0, g1, partial + 16 * (r * kChunk + t - t0));
      });
    }
  }
}

// Unfolds rows [r0, r1) a panel (PanelRows) at a time into scratch and runs
// K's tiles over each, for every token; scratch's tail (PanelPartialBytes)
// holds the accumulators between passes.
template <class Src, class Folded, void (*Fold)(const Src&, Folded*), class K>
void RunPanels(const MatMulArgs& a, int64_t r0, int64_t r1, uint8_t* scratch) {
  const int64_t ng = (a.cols + kGroupElems - 1) / kGroupElems;
  const int64_t max_rows = PanelRows(a.type, a.cols);
  MatMulArgs b = a;
  b.w = scratch;
  b.w_row_bytes = PanelRowBytes(a.type, a.cols);
  auto* partial = reinterpret_cast<float*>(scratch + max_rows * b.w_row_bytes);
  for (int64_t p0 = r0; p0 < r1; p0 += max_rows) {
    const int64_t p1 = std::min(r1, p0 + max_rows);
    auto* f = reinterpret_cast<Folded*>(scratch);
    for (int64_t r = p0; r < p1; ++r) {
      const auto* g = reinterpret_cast<const Src*>(a.w + r * a.w_row_bytes);
      for (int64_t i = 0; i < ng; ++i) Fold(g[i], f++);
    }
    b.out = a.out + p0;
    RunPasses<K>(b, p1 - p0, partial);
  }
}

template <class P>
void RunQ4Panels(const MatMulArgs& a, int64_t r0, int64_t r1, uint8_t* scratch) {
  RunPanels<typename P::Group, FoldedQ4Group, FoldQ4Group<P>, FoldedKernel<FoldedQ4<P>>>(a, r0, r1, scratch);
}

void PanelMatMulRows(const MatMulArgs& a, int64_t r0, int64_t r1, uint8_t* scratch) {
  switch (a.type) {
    case DType::kQ2_K:
      return RunPanels<PackedQ2KGroup, FoldedQ2KGroup, FoldQ2KGroup, FoldedKernel<FoldedQ2K>>(a, r0, r1, scratch);
    case DType::kQ4_0: return RunQ4Panels<PackedQ4_0>(a, r0, r1, scratch);
    case DType::kQ4_1: return RunQ4Panels<PackedQ4_1>(a, r0, r1, scratch);
    case DType::kQ5_0: return RunQ4Panels<PackedQ5_0>(a, r0, r1, scratch);
    case DType::kQ5_1: return RunQ4Panels<PackedQ5_1>(a, r0, r1, scratch);
    case DType::kIQ4_NL: return RunQ4Panels<PackedIQ4NL>(a, r0, r1, scratch);
    case DType::kQ4_K: return RunQ4Panels<PackedQ4K>(a, r0, r1, scratch);
    case DType::kQ5_K: return RunQ4Panels<PackedQ5K>(a, r0, r1, scratch);
    case DType::kIQ4_XS: return RunQ4Panels<PackedIQ4XS>(a, r0, r1, scratch);
    default: KVS_CHECK(false) << "no panel path for " << DTypeName(a.type);
  }
}
#endif

}  // namespace
}  // namespace kvs::cpu::KVS_SIMD_NS
