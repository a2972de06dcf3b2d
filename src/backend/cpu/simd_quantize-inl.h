// Part of simd_kernels-inl.h: quantizing activation rows for the integer
// dot products.
#pragma once
#ifndef KVS_SIMD_NS
#error "include backend/cpu/simd_kernels-inl.h, not this part"
#endif

#include "backend/cpu/simd_vec-inl.h"

namespace kvs::cpu::KVS_SIMD_NS {
namespace {

// ---------------------------------------------------------------- quantize x

// Quantizes one kN-element block: returns d and writes the rounded int8
// values, |qs| <= 127.
template <int kN>
inline float QuantizeBlock(const float* xb, int8_t* qs) {
  VF m = VZero();
  for (int i = 0; i < kN; i += kW) m = VMax(m, VAbs(VLoad(xb + i)));
  const float d = VHmax(m) / 127.0f;
  const VF id = VSet1(d != 0.0f ? 1.0f / d : 0.0f);
  for (int i = 0; i < kN; i += kW) VStoreI8(qs + i, VMul(VLoad(xb + i), id));
  return d;
}

#if defined(__AVX512VNNI__)
// Q8_0 activations on AVX-512 VNNI, in groups of g <= kQ32Group blocks (the
// last group of a row may be short), each group 36 g bytes like g ABlockQ8:
//   float d[g]; uint8 lo[g][16] = x[32k + i] + 128; uint8 hi[g][16] = x[32k + 16 + i] + 128
// so that the low / high halves of g weight blocks line up with one
// contiguous load each (see Q8_0KernelVnni).
constexpr int kQ32Group = 4;
void QuantizeRowQ32Vnni(const float* x, int64_t cols, uint8_t* out) {
  const int64_t nb = cols / kQ8Elems;
  for (int64_t b0 = 0; b0 < nb; b0 += kQ32Group) {
    const int g = nb - b0 < kQ32Group ? static_cast<int>(nb - b0) : kQ32Group;
    uint8_t* base = out + b0 * int64_t{sizeof(ABlockQ8)};
    for (int k = 0; k < g; ++k) {
      int8_t tmp[kQ8Elems];
      const float d = QuantizeBlock<kQ8Elems>(x + (b0 + k) * kQ8Elems, tmp);
      std::memcpy(base + 4 * k, &d, sizeof(float));
      const __m256i v = _mm256_xor_si256(Load256(tmp), _mm256_set1_epi8(-128));
      _mm_storeu_si128(reinterpret_cast<__m128i*>(base + 4 * g + 16 * k), _mm256_castsi256_si128(v));
      _mm_storeu_si128(reinterpret_cast<__m128i*>(base + 20 * g + 16 * k), _mm256_extracti128_si256(v, 1));
    }
  }
}

// Activations for packed Q4 weights: ABlockQ8x16 groups (blocks.h), the
// row's last group padded with zero blocks (d = 0, quants 0). Each block is
// quantized by QuantizeBlock into one 32-byte row of q and summed from
// there; then eight gathers put dword j of every block into lane k of the
// vector j calls for. It runs on one thread before every decode MatMul;
// against a scalar sum and per-dword copies it measured 0.83-0.91 -> 0.59-0.60
// us per row at 2048 columns, 2.34-2.36 -> 1.65-1.66 at 5632 (the kernel
// alone, best of 20 x 2000 calls, builds alternating).
// kHalves: ABlockQ8x16H groups, with each block's first-half sum and both
// halves' sums times d.
template <bool kHalves>
struct Q8x16Out {
  using T = ABlockQ8x16;
};
template <>
struct Q8x16Out<true> {
  using T = ABlockQ8x16H;
};
template <bool kHalves = false>
void QuantizeRowQ8x16(const float* x, int64_t cols, uint8_t* out) {
  using Out = typename Q8x16Out<kHalves>::T;
  const int64_t nb = cols / kQ8Elems;
  auto* outs = reinterpret_cast<Out*>(out);
  // Vector 2i + h of a group holds dword 4h + i of each block.
  const __m512i block = _mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0);
  const __m512i lane_dword = _mm512_mullo_epi32(block, _mm512_set1_epi32(kQ8Elems / 4));
  for (int64_t g = 0; g * kGroupBlocks < nb; ++g) {
    ABlockQ8x16& o = [&]() -> ABlockQ8x16& {
      if constexpr (kHalves) return outs[g].q; else return outs[g];
    }();
    alignas(64) int8_t q[kGroupBlocks][kQ8Elems] = {};
    for (int k = 0; k < kGroupBlocks; ++k) {
      const int64_t b = g * kGroupBlocks + k;
      o.d[k] = b < nb ? QuantizeBlock<kQ8Elems>(x + b * kQ8Elems, q[k]) : 0.0f;
      const __m512i lo = _mm512_cvtepi8_epi32(Load128(q[k]));
      const __m512i hi = _mm512_cvtepi8_epi32(Load128(q[k] + 16));
      o.sum[k] = _mm512_reduce_add_epi32(_mm512_add_epi32(lo, hi));
      if constexpr (kHalves) {
        const int32_t sum_lo = _mm512_reduce_add_epi32(lo);
        outs[g].sum_lo[k] = sum_lo;
        outs[g].xm[0][k] = o.d[k] * static_cast<float>(sum_lo);
        outs[g].xm[1][k] = o.d[k] * static_cast<float>(o.sum[k] - sum_lo);
      }
    }
    for (int h = 0; h < 2; ++h) {
      for (int i = 0; i < 4; ++i) {
        const __m512i idx = _mm512_add_epi32(lane_dword, _mm512_set1_epi32(4 * h + i));
        _mm512_storeu_si512(o.qs[2 * i + h], _mm512_i32gather_epi32(idx, q, 4));
      }
    }
  }
}
#endif

#if !defined(__AVX512F__)
// ABlockQ8x16 groups on AVX2 (simd_packed_avx2-inl.h), the same bytes as
// QuantizeRowQ8x16's: each half group's eight blocks quantized into rows
// of q, then an 8 x 8 transpose of their dwords gives dword j of every
// block in lane k, half of the slice it belongs to; the block sums come
// from the transposed dwords (vpmaddubsw by ones, int16 over the eight, to
// int32 once).
void QuantizeRowQ8x16Avx2(const float* x, int64_t cols, uint8_t* out) {
  const int64_t nb = cols / kQ8Elems;
  auto* outs = reinterpret_cast<ABlockQ8x16*>(out);
  for (int64_t g = 0; g * kGroupBlocks < nb; ++g) {
    ABlockQ8x16& o = outs[g];
    for (int h = 0; h < 2; ++h) {
      alignas(32) int8_t q[8][kQ8Elems] = {};
      __m256i v[8];
      for (int k = 0; k < 8; ++k) {
        const int64_t b = g * kGroupBlocks + 8 * h + k;
        o.d[8 * h + k] = b < nb ? QuantizeBlock<kQ8Elems>(x + b * kQ8Elems, q[k]) : 0.0f;
        v[k] = Load256(q[k]);
      }
      // v[k] dword j -> t[j] lane k: pairs, then quads, then halves.
      __m256i p[8], s[8];
      for (int k = 0; k < 8; k += 2) {
        p[k] = _mm256_unpacklo_epi32(v[k], v[k + 1]);      // dwords 0 1 | 4 5 of k, k + 1
        p[k + 1] = _mm256_unpackhi_epi32(v[k], v[k + 1]);  // 2 3 | 6 7
      }
      for (int k = 0; k < 8; k += 4) {
        for (int e = 0; e < 2; ++e) {
          s[k + 2 * e] = _mm256_unpacklo_epi64(p[k + e], p[k + 2 + e]);
          s[k + 2 * e + 1] = _mm256_unpackhi_epi64(p[k + e], p[k + 2 + e]);
        }
      }
      // s[4m + l]: dword l (low 128 bits) and l + 4 (high) of blocks 4m..4m+3.
      __m256i sum16 = _mm256_setzero_si256();
      for (int l = 0; l < 4; ++l) {
        const __m256i lo = _mm256_permute2x128_si256(s[l], s[4 + l], 0x20);  // dword l, blocks 0..7
        const __m256i hi = _mm256_permute2x128_si256(s[l], s[4 + l], 0x31);  // dword l + 4
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(o.qs[2 * l] + 32 * h), lo);
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(o.qs[2 * l + 1] + 32 * h), hi);
        sum16 = _mm256_add_epi16(sum16, _mm256_add_epi16(_mm256_maddubs_epi16(_mm256_set1_epi8(1), lo),
                                                         _mm256_maddubs_epi16(_mm256_set1_epi8(1), hi)));
      }
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(o.sum + 8 * h), _mm256_madd_epi16(sum16, _mm256_set1_epi16(1)));
    }
  }
}
#endif

#if defined(__AVX512BF16__)
// The activations of Bf16DotKernel and of the AMX BF16 tiles (their
// bf16_pack_act): x[cols] rounded to bf16 (nearest even) into out, in whole
// 32s (ActRowBytes), the last one padded with zeros. Not inlined: its
// BF16 instructions stay out of QuantizeRow, which CPUs without
// AVX512-BF16 run (CpuBackendTest holds them to the BF16 kernels).
inline __attribute__((noinline)) void RoundRowToBf16(const float* x, int64_t cols, uint8_t* out) {
  for (int64_t j = 0; j < cols; j += 32) {
    const int64_t n = cols - j < 32 ? cols - j : 32;
    const __mmask16 lo = static_cast<__mmask16>((uint32_t{1} << (n < 16 ? n : 16)) - 1);
    const __mmask16 hi = n > 16 ? static_cast<__mmask16>((uint32_t{1} << (n - 16)) - 1) : 0;
    const __m512bh v =
        _mm512_cvtne2ps_pbh(_mm512_maskz_loadu_ps(hi, x + j + 16), _mm512_maskz_loadu_ps(lo, x + j));
    _mm512_storeu_si512(out + 2 * j, reinterpret_cast<__m512i>(v));
  }
}
#endif

void QuantizeRow(DType wtype, WeightLayout layout, const float* x, int64_t cols, uint8_t* out) {
#if defined(__AVX512BF16__)
  if (wtype == DType::kBF16) return RoundRowToBf16(x, cols, out);  // a bf16_dot table
#endif
#if defined(__AVX512VNNI__)
  if (layout == WeightLayout::kPacked) {
    if (wtype == DType::kQ2_K || wtype == DType::kQ3_K || wtype == DType::kQ6_K) return QuantizeRowQ8x16<true>(x, cols, out);
    return QuantizeRowQ8x16(x, cols, out);
  }
  // Every 32-element type but Q4_0 (packed, or Q32Kernel in the file's
  // layout) runs Q32KernelVnni.
  if (BlockElems(wtype) == kQ8Elems && wtype != DType::kQ4_0) return QuantizeRowQ32Vnni(x, cols, out);
#else
  if (layout == WeightLayout::kPacked) return QuantizeRowQ8x16Avx2(x, cols, out);
#endif
  if (BlockElems(wtype) == kQ8Elems) {
    auto* q = reinterpret_cast<ABlockQ8*>(out);
    for (int64_t b = 0; b < cols / kQ8Elems; ++b) q[b].d = QuantizeBlock<kQ8Elems>(x + b * kQ8Elems, q[b].qs);
    return;
  }
  auto* q = reinterpret_cast<ABlockQ8K*>(out);
  for (int64_t b = 0; b < cols / kQKElems; ++b) {
    q[b].d = QuantizeBlock<kQKElems>(x + b * kQKElems, q[b].qs);
    KVS_UNROLL
    for (int j = 0; j < kQKElems / 16; ++j) {
      // 16 int8 -> int16, summed in a fixed order.
      const __m256i v = _mm256_cvtepi8_epi16(Load128(q[b].qs + 16 * j));
      const __m256i s32 = _mm256_madd_epi16(v, _mm256_set1_epi16(1));
      __m128i s = _mm_add_epi32(_mm256_castsi256_si128(s32), _mm256_extracti128_si256(s32, 1));
      s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4e));
      s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xb1));
      q[b].bsums[j] = static_cast<int16_t>(_mm_cvtsi128_si32(s));
    }
  }
}

}  // namespace
}  // namespace kvs::cpu::KVS_SIMD_NS
