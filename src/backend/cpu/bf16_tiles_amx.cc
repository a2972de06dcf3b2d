// MatMul of BF16 weights on the AMX tile unit: AmxKernels' bf16_matmul_rows
// (kernels.h; its bf16_pack_act is simd_quantize-inl.h's RoundRowToBf16).
// Compiled with the AVX-512 flags plus AMX (CMake gives *_amx.cc files their
// own flags); called only where IsaSupported(Isa::kAmx).
//
// One TDPBF16PS multiplies 16 tokens x 32 columns of activations (tile A,
// bf16) by 32 columns x 16 weight rows (tile B: one 1 KiB tile of the
// packed layout, pack_bf16.h) into 16 tokens x 16 rows of float sums (tile
// C), 8,192 multiply-adds. The activations are rounded to bf16 first (round
// to nearest even), as llama.cpp rounds them for its BF16 kernels; the
// weights are the file's.
//
// Every output element is one C element accumulated over the column tiles
// in order, from zero, by the same instruction whatever the number of
// tokens: decode (one token, padded to a tile of 16) and prefill run this
// same code, so results are batch-invariant on this path. (The AVX-512
// path, with float activations, gives other, more precise numbers: the two
// are not mixed within one backend.)
#include <immintrin.h>

#include <cstdint>
#include <cstring>

#include "backend/cpu/amx_tile_config.h"
#include "backend/cpu/kernels.h"
#include "backend/cpu/pack_bf16.h"

namespace kvs::cpu {
namespace {

constexpr int kTile = 16;           // tokens per A tile, weight rows per B tile
constexpr int64_t kTileBytes = 1024;  // one B tile: 16 lines of 64 bytes

// Tiles 0-3 accumulate (C: token tile i, panel j in tile 2i + j), 4 and 5
// hold two token tiles' activations, 6 and 7 two panels' weights; every
// tile is 16 lines of 64 bytes. In read-only data (amx_tile_config.h).
constexpr AmxTileConfig kTileConfig = {1, 0, {}, {64, 64, 64, 64, 64, 64, 64, 64},
                                    {kTile, kTile, kTile, kTile, kTile, kTile, kTile, kTile}};

// Weight tiles fetched this many tiles ahead of their use, on the first
// token tiles' pass over a panel (the one that reads it from memory).
// Decode of TinyLlama BF16, 1 thread, against the read-bandwidth ceiling
// (kvserve bench -n 32): no prefetch 85-87%, 1 tile 92%, 2 tiles 97-98%,
// 3 tiles 90%, 4 89%, 8 86%.
constexpr int64_t kPrefetchTiles = 2;

inline void PrefetchTile(const uint8_t* p) {
  for (int i = 0; i < 16; ++i) _mm_prefetch(reinterpret_cast<const char*>(p + 64 * i), _MM_HINT_T0);
}

// TT token tiles (from xb, stride xs bytes) by TP panels (w0, w1) over nc
// column tiles, into C tiles 0..3. The tile intrinsics take their
// registers as literals, hence the constant branches.
template <int TT, int TP, bool kPrefetch>
inline void MultiplyTiles(const uint8_t* xb, int64_t xs, const uint8_t* w0, const uint8_t* w1,
                          int64_t nc) {
  _tile_zero(0);
  if constexpr (TP > 1) _tile_zero(1);
  if constexpr (TT > 1) _tile_zero(2);
  if constexpr (TT > 1 && TP > 1) _tile_zero(3);
  for (int64_t c = 0; c < nc; ++c) {
    if constexpr (kPrefetch) {
      if (c + kPrefetchTiles < nc) {
        PrefetchTile(w0 + (c + kPrefetchTiles) * kTileBytes);
        if constexpr (TP > 1) PrefetchTile(w1 + (c + kPrefetchTiles) * kTileBytes);
      }
    }
    _tile_loadd(6, w0 + c * kTileBytes, 64);
    if constexpr (TP > 1) _tile_loadd(7, w1 + c * kTileBytes, 64);
    _tile_loadd(4, xb + c * 64, xs);
    if constexpr (TT > 1) _tile_loadd(5, xb + kTile * xs + c * 64, xs);
    _tile_dpbf16ps(0, 4, 6);
    if constexpr (TP > 1) _tile_dpbf16ps(1, 4, 7);
    if constexpr (TT > 1) _tile_dpbf16ps(2, 5, 6);
    if constexpr (TT > 1 && TP > 1) _tile_dpbf16ps(3, 5, 7);
  }
}

// C tile `ct` (16 tokens x 16 rows) into out rows [t0, t0 + nt): straight
// into out when the tile's 16 tokens all exist, else through scratch.
#define KVS_STORE_C(ct, out, rows_stride, nt, scratch)                                   \
  do {                                                                                 \
    if ((nt) == kTile) {                                                               \
      _tile_stored(ct, (out), (rows_stride) * 4);                                      \
    } else {                                                                           \
      _tile_stored(ct, (scratch), 64);                                                 \
      for (int i = 0; i < (nt); ++i) std::memcpy((out) + i * (rows_stride), (scratch) + i * 16, 64); \
    }                                                                                  \
  } while (0)

template <int TT, int TP>
inline void Block(const MatMulArgs& a, int64_t row, int64_t t0, float* scratch) {
  const int64_t nc = a.cols / kBf16TileCols;
  const int64_t xs = a.cols * 2;
  const uint8_t* w0 = a.w + row * a.cols * 2;  // panel row / 16 starts at 32 * cols * (row / 16)
  if (t0 == 0) {
    MultiplyTiles<TT, TP, true>(a.xa, xs, w0, w0 + kTile * a.cols * 2, nc);
  } else {
    MultiplyTiles<TT, TP, false>(a.xa + t0 * xs, xs, w0, w0 + kTile * a.cols * 2, nc);
  }
  float* out = a.out + t0 * a.rows + row;
  const int n0 = static_cast<int>(a.n - t0 < kTile ? a.n - t0 : kTile);
  KVS_STORE_C(0, out, a.rows, n0, scratch);
  if constexpr (TP > 1) KVS_STORE_C(1, out + kTile, a.rows, n0, scratch);
  if constexpr (TT > 1) {
    const int n1 = static_cast<int>(a.n - t0 - kTile < kTile ? a.n - t0 - kTile : kTile);
    out += kTile * a.rows;
    KVS_STORE_C(2, out, a.rows, n1, scratch);
    if constexpr (TP > 1) KVS_STORE_C(3, out + kTile, a.rows, n1, scratch);
  }
}

#undef KVS_STORE_C

}  // namespace

void AmxBf16MatMulRows(const MatMulArgs& a, int64_t r0, int64_t r1, uint8_t* scratch) {
  // The weights are read once: each pair of panels (32 rows) meets every
  // token tile while it is in cache; the activations (n x cols bf16) are
  // read once per panel pair.
  auto* c_scratch = reinterpret_cast<float*>(scratch);
  _tile_loadconfig(&kTileConfig);
  for (int64_t row = r0; row < r1; row += 2 * kTile) {
    const bool two_panels = row + kTile < r1;
    for (int64_t t0 = 0; t0 < a.n; t0 += 2 * kTile) {
      const bool two_tiles = t0 + kTile < a.n;
      if (two_tiles && two_panels) {
        Block<2, 2>(a, row, t0, c_scratch);
      } else if (two_tiles) {
        Block<2, 1>(a, row, t0, c_scratch);
      } else if (two_panels) {
        Block<1, 2>(a, row, t0, c_scratch);
      } else {
        Block<1, 1>(a, row, t0, c_scratch);
      }
    }
  }
  _tile_release();
}

}  // namespace kvs::cpu
