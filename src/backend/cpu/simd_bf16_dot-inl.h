// Part of simd_kernels-inl.h: BF16 weights by vdpbf16ps, on the AVX-512
// tables whose bf16_dot is set (kernels.h: the CPUs where that instruction
// outruns widening and FMAs). The activations are rounded to bf16 once per
// MatMul (simd_quantize-inl.h's RoundRowToBf16: to nearest even, as
// llama.cpp and the AMX tiles round them); the weights stay in the file's
// layout.
//
// Batch invariance: decode runs the same tiles (one token, rows of two
// streams), and each output is one accumulator over the columns in order.
// Exempt from the 400-line guideline as a SIMD kernel file.
#pragma once
#ifndef KVS_SIMD_NS
#error "include backend/cpu/simd_kernels-inl.h, not this part"
#endif

#include "backend/cpu/simd_matmul-inl.h"

#if defined(__AVX512BF16__)
namespace kvs::cpu::KVS_SIMD_NS {
namespace {

// One vdpbf16ps per 32 columns per (row, token), against two widenings
// and two FMAs on the band path. Tile 4 x 6: 24 accumulators, 4 weight
// vectors, one activation vector at a time.
struct Bf16DotKernel {
  static constexpr int kR = 4;
  static constexpr int kC = 6;

  template <int R, int C>
  static void Tile(const MatMulArgs& a, int64_t row, int64_t tok, int64_t step = 1) {
    const uint16_t* w[R];
    const uint16_t* x[C];
    TileRows(a.w, row, a.w_row_bytes, w, step);
    TileRows(a.xq, tok, a.xq_row_bytes, x);
    __m512 acc[R][C];
    SetAll(acc, _mm512_setzero_ps());
    auto step32 = [&](int64_t j, __mmask32 m) {
      __m512bh wv[R];
      KVS_UNROLL
      for (int r = 0; r < R; ++r) {
        Prefetch(a.prefetch_bytes, w[r] + j);
        wv[r] = reinterpret_cast<__m512bh>(_mm512_maskz_loadu_epi16(m, w[r] + j));
      }
      KVS_UNROLL
      for (int c = 0; c < C; ++c) {
        const __m512bh xv = reinterpret_cast<__m512bh>(_mm512_loadu_si512(x[c] + j));
        KVS_UNROLL
        for (int r = 0; r < R; ++r) acc[r][c] = _mm512_dpbf16_ps(acc[r][c], wv[r], xv);
      }
    };
    int64_t j = 0;
    for (; j + 32 <= a.cols; j += 32) step32(j, ~__mmask32{0});
    if (j < a.cols) step32(j, static_cast<__mmask32>((uint64_t{1} << (a.cols - j)) - 1));
    StoreTileSums(a, row, tok, step, acc);
  }
};

}  // namespace
}  // namespace kvs::cpu::KVS_SIMD_NS
#endif
