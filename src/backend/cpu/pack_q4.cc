#include "backend/cpu/pack_q4.h"

#include <cstring>

#include "backend/cpu/blocks.h"
#include "base/check.h"
#include "tensor/quant.h"

namespace kvs::cpu {
namespace {

// Writes one block's 32 quants (0..15, element order) into lane k of a
// group's transposed quants.
void PutBlock(const uint8_t q[kQ8Elems], int k, uint8_t qs[4][64]) {
  for (int i = 0; i < 4; ++i) {
    for (int j = 0; j < 4; ++j) {
      qs[i][4 * k + j] = static_cast<uint8_t>(q[4 * i + j] | (q[16 + 4 * i + j] << 4));
    }
  }
}

void PackRowQ4_0(const uint8_t* src, int64_t cols, uint8_t* dst) {
  const auto* blocks = reinterpret_cast<const WBlockQ4_0*>(src);
  const int64_t nb = cols / kQ8Elems;
  auto* groups = reinterpret_cast<PackedQ4_0Group*>(dst);
  for (int64_t g = 0; g * kGroupBlocks < nb; ++g) {
    PackedQ4_0Group& out = groups[g];
    std::memset(&out, 0, sizeof(out));
    for (int k = 0; k < kGroupBlocks && g * kGroupBlocks + k < nb; ++k) {
      const WBlockQ4_0& b = blocks[g * kGroupBlocks + k];
      uint8_t q[kQ8Elems];
      for (int e = 0; e < 16; ++e) q[e] = b.qs[e] & 15, q[16 + e] = b.qs[e] >> 4;
      out.d[k] = b.d;
      PutBlock(q, k, out.qs);
    }
  }
}

// Q4_K's 64-element chunks keep sub-block 2c in the low nibbles of 32 bytes
// and sub-block 2c + 1 in the high nibbles of the same bytes.
void PackRowQ4K(const uint8_t* src, int64_t cols, uint8_t* dst) {
  const auto* supers = reinterpret_cast<const WBlockQ4K*>(src);
  const int64_t nsb = cols / kQKElems;
  constexpr int kSubBlocks = kQKElems / kQ8Elems;  // 8
  auto* groups = reinterpret_cast<PackedQ4KGroup*>(dst);
  for (int64_t g = 0; 2 * g < nsb; ++g) {
    PackedQ4KGroup& out = groups[g];
    std::memset(&out, 0, sizeof(out));
    for (int h = 0; h < 2 && 2 * g + h < nsb; ++h) {
      const WBlockQ4K& b = supers[2 * g + h];
      out.d[h] = b.d;
      out.dmin[h] = b.dmin;
      for (int s = 0; s < kSubBlocks; ++s) {
        const int k = h * kSubBlocks + s;
        int scale, min;
        UnpackScaleMinK4(s, b.scales, &scale, &min);
        out.scale[k] = static_cast<uint8_t>(scale);
        out.min[k] = static_cast<uint8_t>(min);
        const uint8_t* bytes = b.qs + 32 * (s / 2);
        uint8_t q[kQ8Elems];
        for (int e = 0; e < kQ8Elems; ++e) q[e] = s % 2 == 0 ? bytes[e] & 15 : bytes[e] >> 4;
        PutBlock(q, k, out.qs);
      }
    }
  }
}

}  // namespace

int64_t PackedQ4RowBytes(DType type, int64_t cols) {
  const int64_t groups = (cols + kGroupElems - 1) / kGroupElems;
  switch (type) {
    case DType::kQ4_0: return groups * int64_t{sizeof(PackedQ4_0Group)};
    case DType::kQ4_K: return groups * int64_t{sizeof(PackedQ4KGroup)};
    default: return 0;
  }
}

void PackQ4Rows(const WeightMatrix& w, int64_t row_begin, int64_t row_end, uint8_t* dst) {
  KVS_CHECK(w.layout == WeightLayout::kFile);
  const int64_t out_bytes = PackedQ4RowBytes(w.type, w.cols);
  KVS_CHECK(out_bytes > 0) << DTypeName(w.type) << " has no packed layout";
  for (int64_t r = row_begin; r < row_end; ++r) {
    if (w.type == DType::kQ4_0) {
      PackRowQ4_0(w.row(r), w.cols, dst + r * out_bytes);
    } else {
      PackRowQ4K(w.row(r), w.cols, dst + r * out_bytes);
    }
  }
}

}  // namespace kvs::cpu
