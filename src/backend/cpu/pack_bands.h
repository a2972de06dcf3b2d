// Banded 16-bit weights (WeightLayout::kPacked for F16, and for BF16 where
// the AMX tiles do not take it, on the AVX-512 paths): rows in bands of 32,
// each band column-major, so that one 64-byte line holds one column of 32
// rows: the operand a kernel vectorized over rows loads, with each token's
// activation broadcast (simd_bands-inl.h).
//
// Band B holds rows [32B, 32B + 32) and starts at byte B * 64 * cols;
// element (row 32B + i, column k) is the 16-bit word k * 32 + i of the
// band. The same bytes as the file, moved: no value changes.
#pragma once

#include <cstdint>

#include "tensor/tensor.h"

namespace kvs::cpu {

constexpr int64_t kBandRows = 32;

// MatMuls over bands with n > 1 pass over kBandCols columns at a time, and
// read the activations from a copy made once per MatMul (PackBandActs):
// block j (columns [j * kBandCols, (j + 1) * kBandCols)) of token t at
// floats (j * n + t) * kBandActStride. Why a copy: the activations' own
// rows are often 8 KiB apart (2048 floats), so the 12 rows a tile
// broadcasts from share one L1 set and evict each other and the band's
// widened columns; rows kBandActStride floats apart (17 lines) do not.
constexpr int64_t kBandCols = 256;
constexpr int64_t kBandActStride = kBandCols + 16;
// Tokens per pass over a block of columns. Each pass widens the band's
// block to floats again, so more tokens repay that better (perf, F16
// prefill of 512 tokens on one thread: the widening took 10% of the
// MatMuls' samples at 96 tokens a pass, 6% at 384); a pass's activations
// (384 x 1088 bytes a block) stay in L2.
constexpr int64_t kBandTokenChunk = 384;

// Floats of the copy for n tokens of `cols` activations.
int64_t BandActFloats(int64_t n, int64_t cols);

// Copies tokens [t_begin, t_end) of x (n rows of `cols` floats) into xa
// (BandActFloats(n, cols) floats), laid out as above; the floats past a
// partial last block are left as they are. Safe on disjoint token ranges
// from several threads.
void PackBandActs(const float* x, int64_t n, int64_t cols, int64_t t_begin, int64_t t_end, float* xa);

// Whether w (F16 or BF16, file layout) can take the banded layout: whole
// bands (rows % 32 == 0; every real model's matrices are). Others keep the
// file's layout and the row-dot kernels.
bool PacksBands(const WeightMatrix& w);

// Packs bands [band_begin, band_end) of w into dst, which holds the whole
// matrix (rows * cols * 2 bytes). Safe to call on disjoint band ranges from
// several threads.
void PackBands(const WeightMatrix& w, int64_t band_begin, int64_t band_end, uint8_t* dst);

}  // namespace kvs::cpu
