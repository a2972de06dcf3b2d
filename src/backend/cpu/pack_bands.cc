#include "backend/cpu/pack_bands.h"

#include <cstring>

#include "base/check.h"

namespace kvs::cpu {

bool PacksBands(const WeightMatrix& w) {
  return (w.type == DType::kF16 || w.type == DType::kBF16) && w.layout == WeightLayout::kFile &&
         w.rows % kBandRows == 0 && w.cols > 0;
}

void PackBands(const WeightMatrix& w, int64_t band_begin, int64_t band_end, uint8_t* dst) {
  KVS_CHECK(PacksBands(w)) << "PackBands: a " << DTypeName(w.type) << " " << w.rows << " x " << w.cols
                           << " matrix";
  auto* out = reinterpret_cast<uint16_t*>(dst);
  for (int64_t b = band_begin; b < band_end; ++b) {
    uint16_t* band = out + b * kBandRows * w.cols;
    for (int64_t i = 0; i < kBandRows; ++i) {
      const uint8_t* src = w.row(b * kBandRows + i);
      for (int64_t k = 0; k < w.cols; ++k) std::memcpy(&band[k * kBandRows + i], src + 2 * k, 2);
    }
  }
}

}  // namespace kvs::cpu
