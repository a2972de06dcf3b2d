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

int64_t BandActFloats(int64_t n, int64_t cols) { return (cols + kBandCols - 1) / kBandCols * n * kBandActStride; }

void PackBandActs(const float* x, int64_t n, int64_t cols, int64_t t_begin, int64_t t_end, float* xa) {
  for (int64_t k0 = 0; k0 < cols; k0 += kBandCols) {
    const int64_t kn = cols - k0 < kBandCols ? cols - k0 : kBandCols;
    float* block = xa + k0 / kBandCols * n * kBandActStride;
    for (int64_t t = t_begin; t < t_end; ++t)
      std::memcpy(block + t * kBandActStride, x + t * cols + k0, static_cast<size_t>(kn) * sizeof(float));
  }
}

}  // namespace kvs::cpu
