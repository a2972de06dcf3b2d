// Block layouts the CPU kernels read: the weight blocks exactly as GGUF/ggml
// store them (tensor/quant.cc holds the reference codecs for the same bytes)
// and the backend's own quantized-activation blocks.
//
// Why activations are quantized: integer dot products (maddubs / VNNI
// vpdpbusd) process 32 byte pairs per instruction, and the activation row is
// quantized once per MatMul call and reused for every weight row.
//
// Plain structs only (no inline functions): this header is included by the
// *_avx2.cc / *_avx512.cc files, and an inline function compiled there with
// wider instruction sets could be picked by the linker for every caller.
#pragma once

#include <cstdint>

namespace kvs::cpu {

constexpr int kQ8Elems = 32;   // elements per Q8_0 / Q4_0 block
constexpr int kQKElems = 256;  // elements per K-quant super-block

struct WBlockQ8_0 {
  uint16_t d;           // f16 scale
  int8_t qs[kQ8Elems];  // x[i] = d * qs[i]
};
struct WBlockQ4_0 {
  uint16_t d;               // f16 scale
  uint8_t qs[kQ8Elems / 2]; // x[i] = d * ((qs[i] & 15) - 8), x[i + 16] = d * ((qs[i] >> 4) - 8)
};
struct WBlockQ4K {
  uint16_t d;                // f16 scale of the 6-bit sub-block scales
  uint16_t dmin;             // f16 scale of the 6-bit sub-block mins
  uint8_t scales[12];        // 8 x (6-bit scale, 6-bit min), packed as ggml packs them
  uint8_t qs[kQKElems / 2];  // per 64 elements: 32 bytes, low nibbles first 32, high next 32
};
struct WBlockQ6K {
  uint8_t ql[kQKElems / 2];      // low 4 bits of the 6-bit quants
  uint8_t qh[kQKElems / 4];      // high 2 bits, four quants per byte
  int8_t scales[kQKElems / 16];  // one scale per 16 elements
  uint16_t d;                    // f16 super-block scale
};
// The other 32-element types (layouts in docs/formats.md, reference codecs
// in tensor/quant_legacy.cc). Codes: byte j low nibble = element j, high =
// element j + 16; qh bit i = element i's fifth bit.
struct WBlockQ4_1 {
  uint16_t d, m;  // f16: x = d * q + m
  uint8_t qs[kQ8Elems / 2];
};
struct WBlockQ5_0 {
  uint16_t d;  // f16: x = d * (q - 16)
  uint8_t qh[4];
  uint8_t qs[kQ8Elems / 2];
};
struct WBlockQ5_1 {
  uint16_t d, m;  // f16: x = d * q + m
  uint8_t qh[4];
  uint8_t qs[kQ8Elems / 2];
};
struct WBlockIQ4NL {
  uint16_t d;  // f16: x = d * kIq4NlValues[q]
  uint8_t qs[kQ8Elems / 2];
};
// The other super-block types (tensor/quant_kquants.cc).
struct WBlockQ2K {
  uint8_t scales[16];        // per 16 elements: scale (low nibble), min (high)
  uint8_t qs[kQKElems / 4];  // element 128h + 32g + l: bits 2g of qs[32h + l]
  uint16_t d, dmin;
};
struct WBlockQ3K {
  uint8_t hmask[kQKElems / 8];  // element 128h + 32g + l: bit 4h + g of hmask[l] (set: +4)
  uint8_t qs[kQKElems / 4];     // low two bits, as Q2_K's
  uint8_t scales[12];           // 16 x 6-bit, stored +32
  uint16_t d;
};
struct WBlockQ5K {
  uint16_t d, dmin;
  uint8_t scales[12];        // as Q4_K's
  uint8_t qh[kQKElems / 8];  // sub-block s's element l: bit s of qh[l]
  uint8_t qs[kQKElems / 2];  // as Q4_K's
};
struct WBlockIQ4XS {
  uint16_t d;
  uint16_t scales_h;  // sub-block s: top two bits of its 6-bit scale (stored +32) at bits 2s
  uint8_t scales_l[4];  // low four bits: nibble s % 2 of byte s / 2
  uint8_t qs[kQKElems / 2];  // 16 bytes per sub-block, as IQ4_NL's
};
static_assert(sizeof(WBlockQ4_1) == 20);
static_assert(sizeof(WBlockQ5_0) == 22);
static_assert(sizeof(WBlockQ5_1) == 24);
static_assert(sizeof(WBlockIQ4NL) == 18);
static_assert(sizeof(WBlockQ2K) == 84);
static_assert(sizeof(WBlockQ3K) == 110);
static_assert(sizeof(WBlockQ5K) == 176);
static_assert(sizeof(WBlockIQ4XS) == 136);
static_assert(sizeof(WBlockQ8_0) == 34);
static_assert(sizeof(WBlockQ4_0) == 18);
static_assert(sizeof(WBlockQ4K) == 144);
static_assert(sizeof(WBlockQ6K) == 210);

// Activation block for the 32-element weight types (Q4_0, Q4_1, Q5_0,
// Q5_1, Q8_0, IQ4_NL): x[i] ~= d * qs[i], |qs| <= 127.
struct ABlockQ8 {
  float d;
  int8_t qs[kQ8Elems];
};
// Activation super-block for the 256-element weight types (K-quants,
// IQ4_XS); bsums[j] = sum of qs[16j..16j+16)
// so that the weights' per-sub-block offsets (mins, Q6_K's -32) cost one
// multiply per 16 elements instead of one per element.
struct ABlockQ8K {
  float d;
  int16_t bsums[kQKElems / 16];
  int8_t qs[kQKElems];
};
// ---- Packed Q4 (WeightLayout::kPacked on AVX-512 VNNI, and on AVX2 for the types
// simd_packed_avx2-inl.h reads): Q4_0 and Q4_K here, and Q4_1, Q5_0, Q5_1,
// Q5_K, IQ4_NL, IQ4_XS, Q8_0 below
// Rows are cut into groups of 16 blocks of 32 elements (512 elements; a
// row's last group is padded with zero blocks). In a group the quants are
// transposed so that one 64-byte load brings the same 4 bytes of all 16
// blocks, and the int32 lane k of one vpdpbusd collects block k alone:
//   qs[i][4k + j] = q(k, 4i + j) | q(k, 16 + 4i + j) << 4   (i < 4, j < 4)
// where q(k, e) in 0..15 is element e of block k. Each block's weights are
// then w = scale_k * q - min_k, exactly the file's numbers:
//   Q4_0: scale_k = d[k], min_k = 8 d[k]
//   Q4_K: scale_k = d[k / 8] * scale[k], min_k = dmin[k / 8] * min[k]
// Same bytes as the file for Q4_0 (288 per 512 elements); Q4_K gains the
// unpacked 6-bit scales (296 against 288).
constexpr int kGroupBlocks = 16;
constexpr int kGroupElems = kGroupBlocks * kQ8Elems;
struct PackedQ4_0Group {
  uint16_t d[kGroupBlocks];  // f16
  uint8_t qs[4][64];
};
struct PackedQ4KGroup {
  uint16_t d[2];                 // f16, per super-block of 8 blocks
  uint16_t dmin[2];              // f16
  uint8_t scale[kGroupBlocks];   // 6-bit
  uint8_t min[kGroupBlocks];     // 6-bit
  uint8_t qs[4][64];
};
// The other 4- and 5-bit types in the same transposed order. IQ4_NL uses
// PackedQ4_0Group (its indices in place of Q4_0's codes), IQ4_XS keeps each
// sub-block's signed scale (stored - 32). Q5_*'s fifth bits are 64-bit
// masks, bit 4k + j of qh[i][0] for element 4i + j of block k and of
// qh[i][1] for element 16 + 4i + j, so that one mask register adds 16 to
// the codes of one 64-byte vector. The masks come before the codes: read
// straight into mask registers (kmovq from memory) from the group's end,
// they stalled decode on lines Zen 4's hardware prefetchers had not
// fetched; placed first, decode reads Q5_0, Q5_1 and Q5_K at the read
// ceiling (BM_DecodeMatMuls, 1 thread, no software prefetch, GB/s, three
// rounds alternating: Q5_0 20.7-24.8 -> 27.0-30.2, Q5_1 17.8-22.1 ->
// 25.4-30.0, Q5_K 21.8-23.8 -> 25.0-28.8).
struct PackedQ4_1Group {
  uint16_t d[kGroupBlocks];  // f16
  uint16_t m[kGroupBlocks];  // f16 offsets: w = d q + m
  uint8_t qs[4][64];
};
// Q8_0: whole bytes in the activations' order, qs[2i + h][4k + j] = q(k,
// 16h + 4i + j) + 128 (unsigned for vpdpbusd; the kernel starts at -128
// sum(x)); the file's 34 bytes per block, moved (544 per 512 elements).
struct PackedQ8_0Group {
  uint16_t d[kGroupBlocks];  // f16
  uint8_t qs[8][64];
};
struct PackedIQ4XSGroup {
  uint16_t d[2];                // f16, per super-block of 8 blocks
  int8_t scale[kGroupBlocks];   // -32..31
  uint8_t qs[4][64];
};
struct PackedQ5_0Group {
  uint16_t d[kGroupBlocks];
  uint64_t qh[4][2];
  uint8_t qs[4][64];
};
struct PackedQ5_1Group {
  uint16_t d[kGroupBlocks];
  uint16_t m[kGroupBlocks];
  uint64_t qh[4][2];
  uint8_t qs[4][64];
};
struct PackedQ5KGroup {
  uint16_t d[2];
  uint16_t dmin[2];
  uint8_t scale[kGroupBlocks];
  uint8_t min[kGroupBlocks];
  uint64_t qh[4][2];
  uint8_t qs[4][64];
};
// Q2_K / Q3_K, whose scales cover 16 elements: the same 16 blocks of 32 per
// group, each block's two halves (16h + e) with their own scale, and the
// codes in 8 slices matching the activation's, slice 2i + h holding
// element 16h + 4i + j of block k at byte 4k + j: slice 4t + s in bits
// 2s..2s+1 of qs[t]. scales[h][k] / scale[h][k] belong to half h of block k
// (sub-block 2 (k % 8) + h of super-block k / 8). Q3_K's third bits are one
// 64-bit mask per slice (bit 4k + j), its codes stored + 4 (0..7).
struct PackedQ2KGroup {
  uint16_t d[2];          // f16, per super-block
  uint16_t dmin[2];       // f16
  uint8_t scales[2][16];  // scale (low nibble) and min (high), as the file's
  uint8_t qs[2][64];
};
struct PackedQ3KGroup {
  uint64_t qh[8];
  uint16_t d[2];
  int8_t scale[2][16];  // -32..31
  uint8_t qs[2][64];
  uint8_t pad[4];
};
// Q6_K: the 6-bit codes (0..63) of the slices above, low nibbles as Q4_0's
// (slice 2t in the low nibbles of ql[t], 2t + 1 in the high) and high bit
// pairs as Q2_K's codes (slice 4t + s at bits 2s of qh[t]); the signed
// 16-element scales as Q3_K's, the -32 through the halves' sums. 420 bytes
// per 512 elements, the file's 210 per 256.
struct PackedQ6KGroup {
  uint8_t ql[4][64];
  uint8_t qh[2][64];
  uint16_t d[2];
  int8_t scale[2][16];
};
static_assert(sizeof(PackedQ2KGroup) == 168);
static_assert(sizeof(PackedQ6KGroup) == 420);
static_assert(sizeof(PackedQ3KGroup) == 232);
static_assert(sizeof(PackedQ4_0Group) == 288);
static_assert(sizeof(PackedQ4KGroup) == 296);
static_assert(sizeof(PackedQ4_1Group) == 320);
static_assert(sizeof(PackedQ8_0Group) == 544);
static_assert(sizeof(PackedIQ4XSGroup) == 276);
static_assert(sizeof(PackedQ5_0Group) == 352);
static_assert(sizeof(PackedQ5_1Group) == 384);
static_assert(sizeof(PackedQ5KGroup) == 360);

// Activation group for the packed kernels, in the same transposed order:
//   qs[2i + h][4k + j] = x(k, 16h + 4i + j), sum[k] = sum of block k's quants.
struct ABlockQ8x16 {
  float d[kGroupBlocks];
  int32_t sum[kGroupBlocks];
  int8_t qs[8][64];
};
static_assert(sizeof(ABlockQ8x16) == 640);
// Activation group for packed Q2_K / Q3_K / Q6_K, whose scales cover half
// blocks: ABlockQ8x16 plus each block's sum of its first 16 quants (the
// second half's is sum - sum_lo), and each half's sum times d in float,
// xm[h][k] = d[k] * xsum_h (what Q2_K's mins multiply), computed once per
// activation row rather than once per weight row.
struct ABlockQ8x16H {
  ABlockQ8x16 q;
  int32_t sum_lo[kGroupBlocks];
  float xm[2][kGroupBlocks];
};
static_assert(sizeof(ABlockQ8x16H) == 832);

static_assert(sizeof(ABlockQ8) == 36);
static_assert(sizeof(ABlockQ8K) == 292);

}  // namespace kvs::cpu
