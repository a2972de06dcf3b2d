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

// Whether w (F16 or BF16, file layout) can take the banded layout: whole
// bands (rows % 32 == 0; every real model's matrices are). Others keep the
// file's layout and the row-dot kernels.
bool PacksBands(const WeightMatrix& w);

// Packs bands [band_begin, band_end) of w into dst, which holds the whole
// matrix (rows * cols * 2 bytes). Safe to call on disjoint band ranges from
// several threads.
void PackBands(const WeightMatrix& w, int64_t band_begin, int64_t band_end, uint8_t* dst);

}  // namespace kvs::cpu
