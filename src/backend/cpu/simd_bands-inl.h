// Part of simd_kernels-inl.h: MatMul of banded F16 and BF16 weights
// (pack_bands.h) on AVX-512 (KernelTable::band_matmul_rows), every n.
//
// Why: the row-dot tile (HalfKernel) widens each weight vector with a
// two-uop conversion on the FMA ports for every 4 tokens and ends in
// horizontal sums; prefill ran at ~38% of the core's FP32 FMA peak. Here the
// vectors run over 32 rows of one column (one line of a band), each token's
// activation is broadcast, and a tile of 32 rows x 12 tokens keeps 24
// accumulators: 2 weight loads and 12 broadcasts per 24 FMAs, no horizontal
// sums. For n > 1 a band's columns are widened once per token chunk into
// scratch (kBandCols columns: 32 KiB of floats, in L1 with a tile's
// activations), so the FMA ports do nothing else, and the activations come
// from the copy laid out for it (PackBandActs, pack_bands.h).
//
// Arithmetic: every output is one float accumulator, column by column in
// order, acc = fma(w[k], x[k], acc) from 0 (the widening is exact): the same
// operations for every n, tile shape, chunk and thread split, so results
// are batch-invariant (across column blocks the accumulator waits in `out`).
#pragma once
#ifndef KVS_SIMD_NS
#error "include backend/cpu/simd_kernels-inl.h, not this part"
#endif

#include "backend/cpu/kernels.h"
#include "backend/cpu/pack_bands.h"
#include "backend/cpu/simd_vec-inl.h"
#include "base/check.h"

namespace kvs::cpu::KVS_SIMD_NS {
namespace {

#if defined(__AVX512F__)
constexpr int kBandTileTokens = 12;
static_assert(kBandRows == 32 && kBandScratchBytes == kBandCols * kBandRows * 4);

// Where a tile's weight columns come from: a band's 16-bit words, widened
// per load (decode), or floats already widened into scratch (prefill).
template <bool kBf16>
struct HalfBand {
  const uint16_t* band;  // the band's column 0
  int64_t prefetch_bytes;  // MatMulArgs::prefetch_bytes
  VF Load(int64_t k, int half) const {
    const uint16_t* p = band + k * kBandRows + 16 * half;
    if (half == 0) Prefetch(prefetch_bytes, p);  // a line a column
    return kBf16 ? VLoadBF16(p) : VLoadF16(p);
  }
};
struct FloatColumns {
  const float* cols;  // a block's columns of the band, widened; 32 floats a column
  VF Load(int64_t k, int half) const { return VLoad(cols + k * kBandRows + 16 * half); }
};

// The outputs of the NB bands src[b] (32 rows each) for tokens t < C: the
// kn columns of src and x added to the accumulators, which start from 0 when
// `first` and from the outputs otherwise. x: token t's kn activations at x +
// t * ldx; band b's 32 outputs for token t at out[b] + t * ldo.
template <int NB, int C, class Src>
inline __attribute__((always_inline)) void BandTile(const Src (&src)[NB], const float* x, int64_t ldx,
                                                    int64_t kn, bool first, float* const (&out)[NB],
                                                    int64_t ldo) {
  VF acc[NB][2][C];
  KVS_UNROLL
  for (int b = 0; b < NB; ++b)
    KVS_UNROLL
    for (int c = 0; c < C; ++c)
      KVS_UNROLL
      for (int h = 0; h < 2; ++h)
        acc[b][h][c] = first ? VZero() : VLoad(out[b] + c * ldo + 16 * h);
  for (int64_t k = 0; k < kn; ++k) {
    VF w[NB][2];
    KVS_UNROLL
    for (int b = 0; b < NB; ++b) w[b][0] = src[b].Load(k, 0), w[b][1] = src[b].Load(k, 1);
    KVS_UNROLL
    for (int c = 0; c < C; ++c) {
      const VF xv = VSet1(x[c * ldx + k]);
      KVS_UNROLL
      for (int b = 0; b < NB; ++b) {
        acc[b][0][c] = VFma(w[b][0], xv, acc[b][0][c]);
        acc[b][1][c] = VFma(w[b][1], xv, acc[b][1][c]);
      }
    }
  }
  KVS_UNROLL
  for (int b = 0; b < NB; ++b)
    KVS_UNROLL
    for (int c = 0; c < C; ++c)
      KVS_UNROLL
      for (int h = 0; h < 2; ++h) VStore(out[b] + c * ldo + 16 * h, acc[b][h][c]);
}

// Tokens [0, n) of one band's widened block, 12 at a time, then the rest
// in one tile; x and out at token 0, the rest as in BandTile.
void BandTokens(const FloatColumns& src, const float* x, int64_t ldx, int64_t n, int64_t kn, bool first,
                float* out, int64_t ldo) {
  const FloatColumns s[1] = {src};
  int64_t t = 0;
  for (; t + kBandTileTokens <= n; t += kBandTileTokens) {
    float* const o[1] = {out + t * ldo};
    BandTile<1, kBandTileTokens>(s, x + t * ldx, ldx, kn, first, o, ldo);
  }
  const float* xt = x + t * ldx;
  float* const ot[1] = {out + t * ldo};
  switch (n - t) {
    case 0: return;
    case 1: return BandTile<1, 1>(s, xt, ldx, kn, first, ot, ldo);
    case 2: return BandTile<1, 2>(s, xt, ldx, kn, first, ot, ldo);
    case 3: return BandTile<1, 3>(s, xt, ldx, kn, first, ot, ldo);
    case 4: return BandTile<1, 4>(s, xt, ldx, kn, first, ot, ldo);
    case 5: return BandTile<1, 5>(s, xt, ldx, kn, first, ot, ldo);
    case 6: return BandTile<1, 6>(s, xt, ldx, kn, first, ot, ldo);
    case 7: return BandTile<1, 7>(s, xt, ldx, kn, first, ot, ldo);
    case 8: return BandTile<1, 8>(s, xt, ldx, kn, first, ot, ldo);
    case 9: return BandTile<1, 9>(s, xt, ldx, kn, first, ot, ldo);
    case 10: return BandTile<1, 10>(s, xt, ldx, kn, first, ot, ldo);
    default: return BandTile<1, 11>(s, xt, ldx, kn, first, ot, ldo);
  }
}

// scratch: the widened columns (kBandCols x 32 floats). n > 1: the
// activations from a.xa, copied by PackBandActs.
template <bool kBf16>
void RunBands(const MatMulArgs& a, int64_t r0, int64_t r1, float* scratch) {
  const auto* w = reinterpret_cast<const uint16_t*>(a.w);
  auto band = [&](int64_t row) { return HalfBand<kBf16>{w + row * a.cols, a.prefetch_bytes}; };
  if (a.n == 1) {
    // Decode: two bands at a time (four accumulator chains, two streams),
    // read as they are.
    const int64_t half = (r1 - r0) / kBandRows / 2 * kBandRows;
    for (int64_t r = r0; r < r0 + half; r += kBandRows) {
      const HalfBand<kBf16> s[2] = {band(r), band(r + half)};
      float* const o[2] = {a.out + r, a.out + r + half};
      BandTile<2, 1>(s, a.x, a.cols, a.cols, true, o, a.rows);
    }
    if (r0 + 2 * half < r1) {
      const HalfBand<kBf16> s[1] = {band(r1 - kBandRows)};
      float* const o[1] = {a.out + r1 - kBandRows};
      BandTile<1, 1>(s, a.x, a.cols, a.cols, true, o, a.rows);
    }
    return;
  }
  KVS_CHECK(a.xa != nullptr) << "banded MatMul of " << a.n << " tokens without PackBandActs";
  const auto* xa = reinterpret_cast<const float*>(a.xa);
  for (int64_t t0 = 0; t0 < a.n; t0 += kBandTokenChunk) {
    const int64_t tn = a.n - t0 < kBandTokenChunk ? a.n - t0 : kBandTokenChunk;
    for (int64_t k0 = 0; k0 < a.cols; k0 += kBandCols) {
      const int64_t kn = a.cols - k0 < kBandCols ? a.cols - k0 : kBandCols;
      const float* xs = xa + (k0 / kBandCols * a.n + t0) * kBandActStride;
      for (int64_t r = r0; r < r1; r += kBandRows) {
        const HalfBand<kBf16> h = band(r);
        for (int64_t k = 0; k < kn; ++k) {
          VStore(scratch + k * kBandRows, h.Load(k0 + k, 0));
          VStore(scratch + k * kBandRows + 16, h.Load(k0 + k, 1));
        }
        BandTokens(FloatColumns{scratch}, xs, kBandActStride, tn, kn, k0 == 0, a.out + t0 * a.rows + r,
                   a.rows);
      }
    }
  }
}

// Rows [r0, r1), whole bands; scratch: kBandScratchBytes bytes, 64-aligned.
void BandMatMulRows(const MatMulArgs& a, int64_t r0, int64_t r1, uint8_t* scratch) {
  KVS_CHECK(r0 % kBandRows == 0 && r1 % kBandRows == 0) << "band rows " << r0 << ".." << r1;
  float* cols = reinterpret_cast<float*>(scratch);
  switch (a.type) {
    case DType::kF16: return RunBands<false>(a, r0, r1, cols);
    case DType::kBF16: return RunBands<true>(a, r0, r1, cols);
    default: KVS_CHECK(false) << "no band path for " << DTypeName(a.type);
  }
}
#endif

}  // namespace
}  // namespace kvs::cpu::KVS_SIMD_NS
