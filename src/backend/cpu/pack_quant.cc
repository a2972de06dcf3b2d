#include "backend/cpu/pack_quant.h"

#include <cstring>

#include "backend/cpu/blocks.h"
#include "base/check.h"
#include "tensor/quant.h"
#include "tensor/quant_codecs.h"

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

// Bits bit(j) (0 or 1) of elements j = 0..3 of block k into a 64-bit
// group mask, at bits 4k + j. This and PutSlices build each output word in
// a register and store it once, without branches on the bits: a branch per
// code (mispredicted half the time on random bits) and a read-modify-write
// per code (through memory, since byte pointers may alias) made `kvserve bench
// -t 1 -p 0 -n 1` on a TinyLlama-shape model (load, read samples, one
// token) take Q5_K 8.1-10.7 s, Q5_0 10.2-10.5, Q3_K 13.6-14.3, where it
// now takes 3.2-3.6, 4.0-4.4 and 5.9-7.0.
template <class BitFn>
void PutMaskBits(int k, BitFn bit, uint64_t* mask) {
  uint64_t bits = 0;
  for (int j = 0; j < 4; ++j) bits |= uint64_t{bit(j)} << j;
  *mask |= bits << (4 * k);
}

// Fifth bits of one block's codes (0..31) into the group's masks.
void PutFifthBits(const uint8_t q[kQ8Elems], int k, uint64_t qh[4][2]) {
  for (int i = 0; i < 4; ++i) {
    PutMaskBits(k, [&](int j) { return (q[4 * i + j] >> 4) & 1u; }, &qh[i][0]);
    PutMaskBits(k, [&](int j) { return (q[16 + 4 * i + j] >> 4) & 1u; }, &qh[i][1]);
  }
}

// Codes of a 32-element block whose nibbles are laid out as Q4_0's, plus
// fifth bits from a 32-bit qh word when given.
void LegacyCodes(const uint8_t* qs, const uint8_t* qh, uint8_t q[kQ8Elems]) {
  for (int e = 0; e < 16; ++e) q[e] = qs[e] & 15, q[16 + e] = qs[e] >> 4;
  if (qh == nullptr) return;
  for (int e = 0; e < kQ8Elems; ++e) q[e] = static_cast<uint8_t>(q[e] | (((qh[e / 8] >> (e % 8)) & 1) << 4));
}

void PutCodes(const uint8_t q[kQ8Elems], int k, uint8_t qs[4][64]) {
  uint8_t low[kQ8Elems];
  for (int e = 0; e < kQ8Elems; ++e) low[e] = q[e] & 15;
  PutBlock(low, k, qs);
}

// 32-element block types: Block has d (and m, qh where the type has them).
template <class Block, class Group, bool kMin, bool kFifth>
void PackRowLegacy(const uint8_t* src, int64_t cols, uint8_t* dst) {
  const auto* blocks = reinterpret_cast<const Block*>(src);
  const int64_t nb = cols / kQ8Elems;
  auto* groups = reinterpret_cast<Group*>(dst);
  for (int64_t g = 0; g * kGroupBlocks < nb; ++g) {
    Group& out = groups[g];
    std::memset(&out, 0, sizeof(out));
    for (int k = 0; k < kGroupBlocks && g * kGroupBlocks + k < nb; ++k) {
      const Block& b = blocks[g * kGroupBlocks + k];
      uint8_t q[kQ8Elems];
      out.d[k] = b.d;
      if constexpr (kMin) out.m[k] = b.m;
      if constexpr (kFifth) {
        LegacyCodes(b.qs, b.qh, q);
        PutFifthBits(q, k, out.qh);
      } else {
        LegacyCodes(b.qs, nullptr, q);
      }
      PutCodes(q, k, out.qs);
    }
  }
}

void PackRowQ8_0(const uint8_t* src, int64_t cols, uint8_t* dst) {
  const auto* blocks = reinterpret_cast<const WBlockQ8_0*>(src);
  const int64_t nb = cols / kQ8Elems;
  auto* groups = reinterpret_cast<PackedQ8_0Group*>(dst);
  for (int64_t g = 0; g * kGroupBlocks < nb; ++g) {
    PackedQ8_0Group& out = groups[g];
    std::memset(&out, 0, sizeof(out));
    for (int k = 0; k < kGroupBlocks && g * kGroupBlocks + k < nb; ++k) {
      const WBlockQ8_0& b = blocks[g * kGroupBlocks + k];
      out.d[k] = b.d;
      for (int e = 0; e < kQ8Elems; ++e) {
        const int h = e / 16, i = e % 16 / 4, j = e % 4;
        out.qs[2 * i + h][4 * k + j] = static_cast<uint8_t>(b.qs[e] + 128);
      }
    }
  }
}

void PackRowQ5K(const uint8_t* src, int64_t cols, uint8_t* dst) {
  const auto* supers = reinterpret_cast<const WBlockQ5K*>(src);
  const int64_t nsb = cols / kQKElems;
  auto* groups = reinterpret_cast<PackedQ5KGroup*>(dst);
  for (int64_t g = 0; 2 * g < nsb; ++g) {
    PackedQ5KGroup& out = groups[g];
    std::memset(&out, 0, sizeof(out));
    for (int h = 0; h < 2 && 2 * g + h < nsb; ++h) {
      const WBlockQ5K& b = supers[2 * g + h];
      out.d[h] = b.d;
      out.dmin[h] = b.dmin;
      for (int s = 0; s < 8; ++s) {
        const int k = h * 8 + s;
        int scale, min;
        UnpackScaleMinK4(s, b.scales, &scale, &min);
        out.scale[k] = static_cast<uint8_t>(scale);
        out.min[k] = static_cast<uint8_t>(min);
        const uint8_t* bytes = b.qs + 32 * (s / 2);
        uint8_t q[kQ8Elems];
        for (int e = 0; e < kQ8Elems; ++e) {
          q[e] = static_cast<uint8_t>(((bytes[e] >> (4 * (s % 2))) & 15) | (((b.qh[e] >> s) & 1) << 4));
        }
        PutCodes(q, k, out.qs);
        PutFifthBits(q, k, out.qh);
      }
    }
  }
}

void PackRowIQ4XS(const uint8_t* src, int64_t cols, uint8_t* dst) {
  const auto* supers = reinterpret_cast<const WBlockIQ4XS*>(src);
  const int64_t nsb = cols / kQKElems;
  auto* groups = reinterpret_cast<PackedIQ4XSGroup*>(dst);
  for (int64_t g = 0; 2 * g < nsb; ++g) {
    PackedIQ4XSGroup& out = groups[g];
    std::memset(&out, 0, sizeof(out));
    for (int h = 0; h < 2 && 2 * g + h < nsb; ++h) {
      const WBlockIQ4XS& b = supers[2 * g + h];
      out.d[h] = b.d;
      for (int s = 0; s < 8; ++s) {
        const int ls = ((b.scales_l[s / 2] >> (4 * (s % 2))) & 0xF) | (((b.scales_h >> (2 * s)) & 3) << 4);
        out.scale[h * 8 + s] = static_cast<int8_t>(ls - 32);
        uint8_t q[kQ8Elems];
        LegacyCodes(b.qs + 16 * s, nullptr, q);
        PutCodes(q, h * 8 + s, out.qs);
      }
    }
  }
}

using quant_internal::Code2;  // Q2_K / Q3_K two-bit codes (tensor/quant_codecs.h)
using quant_internal::Code6;  // Q6_K six-bit codes

// Slice 2i + h (bits 2s of qs[t], sl = 4t + s) of block k holds element
// 16h + 4i + j at byte 4k + j. code(e) gives the block's element e.
template <class CodeFn>
void PutSlices(int k, CodeFn code, uint8_t qs[2][64]) {
  for (int t = 0; t < 2; ++t) {
    for (int j = 0; j < 4; ++j) {
      unsigned byte = 0;
      for (int s = 0; s < 4; ++s) {
        const int sl = 4 * t + s;
        byte |= static_cast<unsigned>(code(16 * (sl % 2) + 4 * (sl / 2) + j) & 3) << (2 * s);
      }
      qs[t][4 * k + j] = static_cast<uint8_t>(byte);
    }
  }
}

void PackRowQ2K(const uint8_t* src, int64_t cols, uint8_t* dst) {
  const auto* supers = reinterpret_cast<const WBlockQ2K*>(src);
  const int64_t nsb = cols / kQKElems;
  auto* groups = reinterpret_cast<PackedQ2KGroup*>(dst);
  for (int64_t g = 0; 2 * g < nsb; ++g) {
    PackedQ2KGroup& out = groups[g];
    std::memset(&out, 0, sizeof(out));
    for (int sb = 0; sb < 2 && 2 * g + sb < nsb; ++sb) {
      const WBlockQ2K& b = supers[2 * g + sb];
      out.d[sb] = b.d;
      out.dmin[sb] = b.dmin;
      for (int blk = 0; blk < 8; ++blk) {
        const int k = 8 * sb + blk;
        out.scales[0][k] = b.scales[2 * blk];
        out.scales[1][k] = b.scales[2 * blk + 1];
        PutSlices(k, [&](int e) { return Code2(b.qs, 32 * blk + e); }, out.qs);
      }
    }
  }
}

void PackRowQ3K(const uint8_t* src, int64_t cols, uint8_t* dst) {
  const auto* supers = reinterpret_cast<const WBlockQ3K*>(src);
  const int64_t nsb = cols / kQKElems;
  auto* groups = reinterpret_cast<PackedQ3KGroup*>(dst);
  for (int64_t g = 0; 2 * g < nsb; ++g) {
    PackedQ3KGroup& out = groups[g];
    std::memset(&out, 0, sizeof(out));
    for (int sb = 0; sb < 2 && 2 * g + sb < nsb; ++sb) {
      const WBlockQ3K& b = supers[2 * g + sb];
      out.d[sb] = b.d;
      auto third = [&](int e) { return (b.hmask[e % 32] >> (4 * (e / 128) + (e % 128) / 32)) & 1u; };
      for (int blk = 0; blk < 8; ++blk) {
        const int k = 8 * sb + blk;
        out.scale[0][k] = static_cast<int8_t>(UnpackScaleK3(2 * blk, b.scales) - 32);
        out.scale[1][k] = static_cast<int8_t>(UnpackScaleK3(2 * blk + 1, b.scales) - 32);
        PutSlices(k, [&](int e) { return Code2(b.qs, 32 * blk + e); }, out.qs);
        for (int sl = 0; sl < 8; ++sl) {
          const int i = sl / 2, h = sl % 2;
          PutMaskBits(k, [&](int j) { return third(32 * blk + 16 * h + 4 * i + j); }, &out.qh[sl]);
        }
      }
    }
  }
}

void PackRowQ6K(const uint8_t* src, int64_t cols, uint8_t* dst) {
  const auto* supers = reinterpret_cast<const WBlockQ6K*>(src);
  const int64_t nsb = cols / kQKElems;
  auto* groups = reinterpret_cast<PackedQ6KGroup*>(dst);
  for (int64_t g = 0; 2 * g < nsb; ++g) {
    PackedQ6KGroup& out = groups[g];
    std::memset(&out, 0, sizeof(out));
    for (int sb = 0; sb < 2 && 2 * g + sb < nsb; ++sb) {
      const WBlockQ6K& b = supers[2 * g + sb];
      out.d[sb] = b.d;
      for (int blk = 0; blk < 8; ++blk) {
        const int k = 8 * sb + blk;
        out.scale[0][k] = b.scales[2 * blk];
        out.scale[1][k] = b.scales[2 * blk + 1];
        for (int sl = 0; sl < 8; ++sl) {
          const int i = sl / 2, h = sl % 2;
          for (int j = 0; j < 4; ++j) {
            const int q = Code6(b.ql, b.qh, 32 * blk + 16 * h + 4 * i + j);
            uint8_t& lo = out.ql[sl / 2][4 * k + j];
            lo = static_cast<uint8_t>(lo | (q & 15) << (4 * (sl % 2)));
            uint8_t& hi = out.qh[sl / 4][4 * k + j];
            hi = static_cast<uint8_t>(hi | (q >> 4) << (2 * (sl % 4)));
          }
        }
      }
    }
  }
}

}  // namespace

int64_t PackedRowBytes(DType type, int64_t cols) {
  const int64_t groups = (cols + kGroupElems - 1) / kGroupElems;
  switch (type) {
    case DType::kQ4_0:
    case DType::kIQ4_NL: return groups * int64_t{sizeof(PackedQ4_0Group)};
    case DType::kQ4_K: return groups * int64_t{sizeof(PackedQ4KGroup)};
    case DType::kQ8_0: return groups * int64_t{sizeof(PackedQ8_0Group)};
    case DType::kQ4_1: return groups * int64_t{sizeof(PackedQ4_1Group)};
    case DType::kQ5_0: return groups * int64_t{sizeof(PackedQ5_0Group)};
    case DType::kQ5_1: return groups * int64_t{sizeof(PackedQ5_1Group)};
    case DType::kQ5_K: return groups * int64_t{sizeof(PackedQ5KGroup)};
    case DType::kIQ4_XS: return groups * int64_t{sizeof(PackedIQ4XSGroup)};
    case DType::kQ2_K: return groups * int64_t{sizeof(PackedQ2KGroup)};
    case DType::kQ3_K: return groups * int64_t{sizeof(PackedQ3KGroup)};
    case DType::kQ6_K: return groups * int64_t{sizeof(PackedQ6KGroup)};
    default: return 0;
  }
}

void PackRows(const WeightMatrix& w, int64_t row_begin, int64_t row_end, uint8_t* dst) {
  KVS_CHECK(w.layout == WeightLayout::kFile);
  const int64_t out_bytes = PackedRowBytes(w.type, w.cols);
  KVS_CHECK(out_bytes > 0) << DTypeName(w.type) << " has no packed layout";
  for (int64_t r = row_begin; r < row_end; ++r) {
    uint8_t* out = dst + r * out_bytes;
    switch (w.type) {
      case DType::kQ4_0: PackRowQ4_0(w.row(r), w.cols, out); break;
      case DType::kQ4_K: PackRowQ4K(w.row(r), w.cols, out); break;
      case DType::kQ8_0: PackRowQ8_0(w.row(r), w.cols, out); break;
      case DType::kIQ4_NL: PackRowLegacy<WBlockIQ4NL, PackedQ4_0Group, false, false>(w.row(r), w.cols, out); break;
      case DType::kQ4_1: PackRowLegacy<WBlockQ4_1, PackedQ4_1Group, true, false>(w.row(r), w.cols, out); break;
      case DType::kQ5_0: PackRowLegacy<WBlockQ5_0, PackedQ5_0Group, false, true>(w.row(r), w.cols, out); break;
      case DType::kQ5_1: PackRowLegacy<WBlockQ5_1, PackedQ5_1Group, true, true>(w.row(r), w.cols, out); break;
      case DType::kQ5_K: PackRowQ5K(w.row(r), w.cols, out); break;
      case DType::kIQ4_XS: PackRowIQ4XS(w.row(r), w.cols, out); break;
      case DType::kQ2_K: PackRowQ2K(w.row(r), w.cols, out); break;
      case DType::kQ3_K: PackRowQ3K(w.row(r), w.cols, out); break;
      case DType::kQ6_K: PackRowQ6K(w.row(r), w.cols, out); break;
      default: KVS_CHECK(false) << DTypeName(w.type) << " has no packed layout";
    }
  }
}

}  // namespace kvs::cpu
