#include "backend/cpu/pack_bf16.h"

#include <cstring>

#include "base/check.h"

namespace kvs::cpu {

bool PacksBf16(const WeightMatrix& w) {
  return w.type == DType::kBF16 && w.layout == WeightLayout::kFile && w.rows % kBf16PanelRows == 0 &&
         w.cols % kBf16TileCols == 0 && w.cols > 0;
}

void PackBf16Panels(const WeightMatrix& w, int64_t panel_begin, int64_t panel_end, uint8_t* dst) {
  KVS_CHECK(PacksBf16(w)) << "PackBf16Panels: a " << w.rows << " x " << w.cols << " matrix";
  // Pairs of bf16 moved as 32-bit words.
  const int64_t pairs_per_row = w.cols / 2;
  auto* out = reinterpret_cast<uint32_t*>(dst);
  for (int64_t p = panel_begin; p < panel_end; ++p) {
    uint32_t* panel = out + p * kBf16PanelRows * pairs_per_row;
    for (int64_t r = 0; r < kBf16PanelRows; ++r) {
      const uint8_t* src = w.row(p * kBf16PanelRows + r);
      for (int64_t k = 0; k < pairs_per_row; ++k) {
        // pair k is line k % 16 of tile k / 16; row r is word r of the line.
        std::memcpy(&panel[(k / 16) * 256 + (k % 16) * 16 + r], src + 4 * k, 4);
      }
    }
  }
}

}  // namespace kvs::cpu
