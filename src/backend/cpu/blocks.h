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
static_assert(sizeof(WBlockQ8_0) == 34);
static_assert(sizeof(WBlockQ4_0) == 18);
static_assert(sizeof(WBlockQ4K) == 144);
static_assert(sizeof(WBlockQ6K) == 210);

// Activation block for Q8_0 / Q4_0 weights: x[i] ~= d * qs[i], |qs| <= 127.
struct ABlockQ8 {
  float d;
  int8_t qs[kQ8Elems];
};
// Activation super-block for K-quant weights; bsums[j] = sum of qs[16j..16j+16)
// so that the weights' per-sub-block offsets (mins, Q6_K's -32) cost one
// multiply per 16 elements instead of one per element.
struct ABlockQ8K {
  float d;
  int16_t bsums[kQKElems / 16];
  int8_t qs[kQKElems];
};
static_assert(sizeof(ABlockQ8) == 36);
static_assert(sizeof(ABlockQ8K) == 292);

}  // namespace kvs::cpu
