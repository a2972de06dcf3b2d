// Packed BF16 (WeightLayout::kPacked for BF16 weights on Isa::kAmx): the
// weights laid out as the AMX BF16 tile multiply (TDPBF16PS) reads its B
// operand, so that each tile is one contiguous 1 KiB load.
//
// Rows go in panels of 16. Panel P holds cols / 32 tiles, one after the
// other; tile c covers columns [32c, 32c + 32) and its line p (64 bytes)
// holds, for each row r of the panel in turn, the pair (w[16P + r][32c +
// 2p], w[16P + r][32c + 2p + 1]). Panel P starts at byte P * 32 * cols.
// The same bytes as the file, moved: no value changes.
#pragma once

#include <cstdint>

#include "tensor/tensor.h"

namespace kvs::cpu {

constexpr int64_t kBf16PanelRows = 16;
constexpr int64_t kBf16TileCols = 32;

// Whether w (BF16, file layout) can take the packed layout: whole panels
// and whole tiles (rows % 16 == 0, cols % 32 == 0; every real model's
// matrices are). Other BF16 matrices keep the file's layout and the
// AVX-512 kernels.
bool PacksBf16(const WeightMatrix& w);

// Packs panels [panel_begin, panel_end) of w into dst, which holds the
// whole matrix (rows * cols * 2 bytes). Safe to call on disjoint panel
// ranges from several threads.
void PackBf16Panels(const WeightMatrix& w, int64_t panel_begin, int64_t panel_end, uint8_t* dst);

}  // namespace kvs::cpu
