// Prefill of packed Q4_0, Q5_0, IQ4_NL, IQ4_XS, Q8_0 and Q2_K on the AMX
// tile unit (Intel Sapphire Rapids and later): AmxKernels' amx_pack_act and
// amx_matmul_rows (kernels.h). Compiled with the AVX-512 flags plus AMX-TILE / AMX-INT8
// (CMake gives *_amx.cc files their own flags); called only where
// IsaSupported(Isa::kAmx).
//
// One tile multiply (TDPBSSD / TDPBSUD) computes, for 16 tokens x 16 weight
// rows, the exact integer dot of one 32-element block: tile A is the 16
// tokens' activation bytes of that block, tile B the 16 rows' weights of it
// (8 rows of 4-element quads, each 64 bytes: 16 weight rows x 4 bytes). The
// packed layout (blocks.h) holds a row's 16 blocks side by side, so each
// 16-row panel is unpacked once per call into B tiles, by 16 x 16
// transposes of 4-byte lanes, with the codes already turned into the
// weights' signed integers (code - offset, or the IQ4 table). The types
// with a min are not read here (AmxReads says why).
//
// Q2_K goes through the same tiles with its 2-bit codes multiplied by their
// half-block scales (0..45, still one byte): the tile then gives the VNNI
// kernel's folded integer sc0 isum0 + sc1 isum1 of each block
// (simd_matmul_types-inl.h, PackedQ16Kernel), and its epilogue adds the
// mins through the activations' half sums as that kernel does.
//
// Bit-exact with the VNNI kernel (simd_matmul-inl.h, PackedQ4Kernel): its
// int32 lane k per group is the same integer; then per group it does, lane
// k, acc = fma(float(isum), scale * dx, acc), and VHsum over the 16 lanes at
// the end. Here the accumulator of (token, block, row) is lane `row` of a
// register, updated by the same operations group after group, and the 16
// blocks' are summed in VHsum's tree.
#define KVS_SIMD_NS amx
// GCC 12's AVX-512 headers trip -Wmaybe-uninitialized on their own
// _mm512_undefined_* placeholders (false positives, fixed in later GCC).
#pragma GCC diagnostic ignored "-Wuninitialized"
#ifndef __clang__  // a GCC-only warning
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
// The parts below bring kernels this file does not use (it needs only their
// primitives and the packed types' traits).
#pragma GCC diagnostic ignored "-Wunused-function"
#include "backend/cpu/amx_tile_config.h"
#include "backend/cpu/simd_vec-inl.h"
#include "backend/cpu/simd_matmul-inl.h"        // the packed types' traits
#include "backend/cpu/simd_matmul_types-inl.h"  // PackedQ2KP
#include "base/check.h"

namespace kvs::cpu {
namespace amx {
namespace {

constexpr int kTile = 16;             // tokens per A tile, weight rows per B tile
constexpr int kBlockTileBytes = 512;  // one block's B tile: 8 quads x 64 bytes
constexpr int kActBlockBytes = 32;    // one token's bytes of one block

// Tile registers: 0 and 3 accumulate (16 tokens x 16 rows of int32), 1 and
// 4 hold activations (16 tokens x 32 bytes), 2 and 5 weights (8 x 64
// bytes): two of each, so that a group's multiply is issued before the
// previous group's epilogue runs.

// In read-only data (amx_tile_config.h says why).
constexpr AmxTileConfig kTileConfig = {
    1, 0, {}, {64, 32, 64, 64, 32, 64}, {kTile, kTile, kActBlockBytes / 4, kTile, kTile, kActBlockBytes / 4}};

void ConfigureTiles() { _tile_loadconfig(&kTileConfig); }

// Q2_K: folded weights (unsigned, the only ones here), its own unpack and
// epilogue, and activations with the half sums (ABlockQ8x16H).
template <class P>
constexpr bool kFolded = std::is_same_v<P, PackedQ2KP>;
template <class P>
constexpr int64_t kActGroupBytes = kFolded<P> ? sizeof(ABlockQ8x16H) : sizeof(ABlockQ8x16);

// One stage of a 16 x 16 transpose of 4-byte lanes: rows i and i + B (i's
// bit B clear) swap their off-diagonal B-wide halves. The four stages, in
// any order, transpose.
template <int B>
inline void TransposeStage(__m512i r[16]) {
  const __m512i lane = _mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0);
  const __mmask16 upper = _mm512_test_epi32_mask(lane, _mm512_set1_epi32(B));
  // low row: lane l keeps its own where l's bit B is clear, else the high
  // row's lane l - B; high row: the low row's lane l + B, else its own.
  const __m512i idx_lo = _mm512_mask_add_epi32(lane, upper, lane, _mm512_set1_epi32(16 - B));
  const __m512i idx_hi =
      _mm512_mask_add_epi32(_mm512_add_epi32(lane, _mm512_set1_epi32(B)), upper, lane, _mm512_set1_epi32(16));
  KVS_UNROLL
  for (int i = 0; i < 16; ++i) {
    if (i & B) continue;
    const __m512i lo = r[i], hi = r[i + B];
    r[i] = _mm512_permutex2var_epi32(lo, idx_lo, hi);
    r[i + B] = _mm512_permutex2var_epi32(lo, idx_hi, hi);
  }
}

inline void Transpose16x16(__m512i r[16]) {
  TransposeStage<8>(r);
  TransposeStage<4>(r);
  TransposeStage<2>(r);
  TransposeStage<1>(r);
}

// The group's codes as the weights' integers for the tile multiply.
template <class P>
inline __m512i Weights(__m512i codes) {
  if constexpr (P::kTable) {
    return _mm512_shuffle_epi8(_mm512_broadcast_i32x4(Load128(kIq4NlValues)), codes);
  } else if constexpr (P::kStartShift > 0) {
    return _mm512_sub_epi8(codes, _mm512_set1_epi8(static_cast<char>(1 << P::kStartShift)));
  } else {
    return codes;
  }
}

// Rows [row, row + nr) (nr <= 16; the rest of the panel zero) into B tiles
// b[group][block] and the per-block scales, transposed to one vector over
// the panel's rows: scale_t[group][block][row].
template <class P>
void UnpackPanel(const MatMulArgs& a, int64_t row, int nr, int64_t ng, uint8_t* b, float* scale_t) {
  using Group = typename P::Group;
  static_assert(!P::kHasMin, "the types with a min take the panel path (AmxReads)");
  const __m512i m4 = _mm512_set1_epi8(15);
  for (int64_t g = 0; g < ng; ++g) {
    const Group* w[kTile];
    for (int n = 0; n < kTile; ++n) {
      w[n] = n < nr ? reinterpret_cast<const Group*>(a.w + (row + n) * a.w_row_bytes) + g : nullptr;
    }
    uint8_t* bg = b + g * kTile * kBlockTileBytes;
    for (int i = 0; i < 4; ++i) {
      for (int h = 0; h < 2; ++h) {
        __m512i v[kTile];
        KVS_UNROLL
        for (int n = 0; n < kTile; ++n) {
          if (w[n] == nullptr) {
            v[n] = _mm512_setzero_si512();
            continue;
          }
          __m512i c;
          if constexpr (P::kBytes) {
            c = Load512(w[n]->qs[2 * i + h]);
          } else {
            const __m512i q = Load512(w[n]->qs[i]);
            c = _mm512_and_si512(h == 0 ? q : _mm512_srli_epi16(q, 4), m4);
          }
          if constexpr (P::kFifth) {
            c = _mm512_mask_add_epi8(c, _cvtu64_mask64(w[n]->qh[i][h]), c, _mm512_set1_epi8(16));
          }
          v[n] = Weights<P>(c);
        }
        Transpose16x16(v);  // v[k]: block k's quad 2i + h of each row
        KVS_UNROLL
        for (int k = 0; k < kTile; ++k) {
          _mm512_store_si512(bg + k * kBlockTileBytes + (2 * i + h) * 64, v[k]);
        }
      }
    }
    __m512i sc[kTile];
    for (int n = 0; n < kTile; ++n) {
      __m512 s = _mm512_setzero_ps(), m = _mm512_setzero_ps();  // m: no min here
      if (w[n] != nullptr) P::Scales(*w[n], &s, &m);
      sc[n] = _mm512_castps_si512(s);
    }
    Transpose16x16(sc);
    for (int k = 0; k < kTile; ++k) _mm512_store_si512(scale_t + (g * kTile + k) * kTile, sc[k]);
  }
}

// UnpackPanel for Q2_K: B tiles of q sc per element (q's two bits select
// sc and 2 sc); per block and row d and the two half mins' weights dmin mn
// (PackedQ2KP::Fold's floats) in scale_t, mn_t[0] and mn_t[1] (each
// [group][block][row]).
void UnpackPanelQ2K(const MatMulArgs& a, int64_t row, int nr, int64_t ng, uint8_t* b,
                    float* scale_t, float* const mn_t[2]) {
  alignas(64) __m512i sc_bytes[kTile][2];  // sc of block k in the 4 bytes of lane k
  for (int64_t g = 0; g < ng; ++g) {
    const PackedQ2KGroup* w[kTile];
    for (int n = 0; n < kTile; ++n) {
      w[n] = n < nr ? reinterpret_cast<const PackedQ2KGroup*>(a.w + (row + n) * a.w_row_bytes) + g
                    : nullptr;
      for (int h = 0; h < 2 && w[n] != nullptr; ++h) {
        const __m512i sc =
            _mm512_and_si512(_mm512_cvtepu8_epi32(Load128(w[n]->scales[h])), _mm512_set1_epi32(15));
        sc_bytes[n][h] = _mm512_mullo_epi32(sc, _mm512_set1_epi32(0x01010101));
      }
    }
    uint8_t* bg = b + g * kTile * kBlockTileBytes;
    KVS_UNROLL
    for (int sl = 0; sl < 8; ++sl) {  // slice 4t + s: bits 2s, 2s + 1 of qs[t]; half sl % 2
      const int t = sl / 4, s = sl % 4, h = sl % 2;
      __m512i v[kTile];
      KVS_UNROLL
      for (int n = 0; n < kTile; ++n) {
        if (w[n] == nullptr) {
          v[n] = _mm512_setzero_si512();
          continue;
        }
        const __m512i q = Load512(w[n]->qs[t]);
        const __m512i sc = sc_bytes[n][h];
        const __m512i lo =
            _mm512_maskz_mov_epi8(_mm512_test_epi8_mask(q, _mm512_set1_epi8(char(1 << 2 * s))), sc);
        v[n] =
            _mm512_mask_add_epi8(lo, _mm512_test_epi8_mask(q, _mm512_set1_epi8(char(2 << 2 * s))),
                                 lo, _mm512_add_epi8(sc, sc));
      }
      Transpose16x16(v);  // v[k]: block k's quad sl of each row
      KVS_UNROLL
      for (int k = 0; k < kTile; ++k) _mm512_store_si512(bg + k * kBlockTileBytes + sl * 64, v[k]);
    }
    __m512i d[kTile], wm[2][kTile];
    for (int n = 0; n < kTile; ++n) {
      __m512 dd = _mm512_setzero_ps(), sc[2] = {dd, dd}, m[2] = {dd, dd};
      if (w[n] != nullptr) PackedQ2KP::Fold(*w[n], &dd, sc, m);
      d[n] = _mm512_castps_si512(dd);
      wm[0][n] = _mm512_castps_si512(m[0]);
      wm[1][n] = _mm512_castps_si512(m[1]);
    }
    float* out[3] = {scale_t, mn_t[0], mn_t[1]};
    __m512i* in[3] = {d, wm[0], wm[1]};
    for (int j = 0; j < 3; ++j) {
      Transpose16x16(in[j]);
      for (int k = 0; k < kTile; ++k)
        _mm512_store_si512(out[j] + (g * kTile + k) * kTile, in[j][k]);
    }
  }
}

// Block k of group g for the tile's 16 tokens (rows past n are zero), from
// its C tile c: each acc[t] (one per token, over the panel's rows) updated
// as the VNNI kernel updates its lane k. x is the first token's activation
// group g; the next token's is xq_row_bytes further.
inline __attribute__((always_inline)) void Epilogue(const int32_t* c, const float* scale, const uint8_t* x,
                                                    int64_t xq_row_bytes, int k, __m512 acc[kTile]) {
  const __m512 sw = _mm512_load_ps(scale);
  KVS_UNROLL
  for (int t = 0; t < kTile; ++t) {
    const auto* xt = reinterpret_cast<const ABlockQ8x16*>(x + t * xq_row_bytes);
    acc[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_load_si512(c + t * kTile)),
                             _mm512_mul_ps(sw, _mm512_set1_ps(xt->d[k])), acc[t]);
  }
}

// Epilogue for Q2_K, the VNNI kernel's steps for its lane k: C is the
// exact `it`, then PackedQ2KP::Finish with the token's half sums xm[h][k]
// broadcast over the rows.
inline __attribute__((always_inline)) void EpilogueQ2K(const int32_t* c, const float* d,
                                                       const float* wm0, const float* wm1,
                                                       const uint8_t* x, int64_t xq_row_bytes, int k,
                                                       __m512 acc[kTile]) {
  const __m512 dw = _mm512_load_ps(d);
  const __m512 wm[2] = {_mm512_load_ps(wm0), _mm512_load_ps(wm1)};
  KVS_UNROLL
  for (int t = 0; t < kTile; ++t) {
    const auto* xt = reinterpret_cast<const ABlockQ8x16H*>(x + t * xq_row_bytes);
    const __m512 xm[2] = {_mm512_set1_ps(xt->xm[0][k]), _mm512_set1_ps(xt->xm[1][k])};
    acc[t] = PackedQ2KP::Finish(acc[t], _mm512_cvtepi32_ps(_mm512_load_si512(c + t * kTile)),
                                _mm512_mul_ps(dw, _mm512_set1_ps(xt->q.d[k])), wm, xm);
  }
}

// Block k of group g for 16 tokens into C tile `ct` (A tile `at`, B tile
// `bt`), stored to c. A macro: the tile intrinsics take their registers as
// literals.
#define KVS_AMX_BLOCK(ct, at, bt, xa, b, c) \
  do {                                      \
    _tile_loadd(at, (xa), kActBlockBytes);  \
    _tile_loadd(bt, (b), 64);               \
    _tile_zero(ct);                         \
    if constexpr (kFolded<P>) {             \
      _tile_dpbsud(ct, at, bt);             \
    } else {                                \
      _tile_dpbssd(ct, at, bt);             \
    }                                       \
    _tile_stored(ct, (c), 64);              \
  } while (0)

template <class P>
void MatMulPanels(const MatMulArgs& a, int64_t r0, int64_t r1, uint8_t* scratch) {
  const int64_t ng = (a.cols + kGroupElems - 1) / kGroupElems;
  const int64_t xa_tile = kTile * AmxActRowBytes(a.cols);  // one token tile's A tiles
  uint8_t* b = scratch;
  float* scale_t = reinterpret_cast<float*>(b + ng * kTile * kBlockTileBytes);
  float* const mn_t[2] = {scale_t + ng * kTile * kTile, scale_t + 2 * ng * kTile * kTile};  // Q2_K's
  float* sums = scale_t + 3 * ng * kTile * kTile;                                  // [block][token][row]
  int32_t* cbuf = reinterpret_cast<int32_t*>(sums + kTile * kTile * kTile);  // [2][token][row]
  ConfigureTiles();
  for (int64_t row = r0; row < r1; row += kTile) {
    const int nr = static_cast<int>(r1 - row < kTile ? r1 - row : kTile);
    if constexpr (kFolded<P>) {
      UnpackPanelQ2K(a, row, nr, ng, b, scale_t, mn_t);
    } else {
      UnpackPanel<P>(a, row, nr, ng, b, scale_t);
    }
    for (int64_t t0 = 0; t0 < a.n; t0 += kTile) {
      const int nt = static_cast<int>(a.n - t0 < kTile ? a.n - t0 : kTile);
      const uint8_t* xa = a.xa + t0 / kTile * xa_tile;  // [group][block][token][32]
      const uint8_t* xq = a.xq + t0 * a.xq_row_bytes;
      // Block k of every group in turn: the 16 tokens' accumulators for
      // lane k stay in registers across the groups. A software pipeline
      // one group deep: group g's tiles are multiplied (into tile 0 or 3,
      // alternately) while group g - 1's C tile, stored one step before,
      // goes through the epilogue.
      for (int k = 0; k < kTile; ++k) {
        __m512 acc[kTile];
        KVS_UNROLL
        for (int t = 0; t < kTile; ++t) acc[t] = _mm512_setzero_ps();
        for (int64_t g = 0; g <= ng; ++g) {
          if (g < ng) {
            const uint8_t* xa_blk = xa + (g * kTile + k) * kTile * kActBlockBytes;
            const uint8_t* b_blk = b + (g * kTile + k) * kBlockTileBytes;
            if (g % 2 == 0) {
              KVS_AMX_BLOCK(0, 1, 2, xa_blk, b_blk, cbuf);
            } else {
              KVS_AMX_BLOCK(3, 4, 5, xa_blk, b_blk, cbuf + kTile * kTile);
            }
          }
          if (g > 0) {
            const int64_t blk = (g - 1) * kTile + k;
            const int32_t* c = cbuf + (g - 1) % 2 * kTile * kTile;
            const uint8_t* xg = xq + (g - 1) * kActGroupBytes<P>;
            if constexpr (kFolded<P>) {
              EpilogueQ2K(c, scale_t + blk * kTile, mn_t[0] + blk * kTile, mn_t[1] + blk * kTile, xg,
                          a.xq_row_bytes, k, acc);
            } else {
              Epilogue(c, scale_t + blk * kTile, xg, a.xq_row_bytes, k, acc);
            }
          }
        }
        KVS_UNROLL
        for (int t = 0; t < kTile; ++t) _mm512_store_ps(sums + (k * kTile + t) * kTile, acc[t]);
      }
      // VHsum's tree over the 16 blocks: (k, k + 8), then (k, k + 4),
      // (k, k + 2), (0, 1).
      const __mmask16 rows_mask = static_cast<__mmask16>((1u << nr) - 1);
      for (int t = 0; t < nt; ++t) {
        __m512 s[8];
        KVS_UNROLL
        for (int k = 0; k < 8; ++k) {
          s[k] = _mm512_add_ps(_mm512_load_ps(sums + (k * kTile + t) * kTile),
                               _mm512_load_ps(sums + ((k + 8) * kTile + t) * kTile));
        }
        KVS_UNROLL
        for (int k = 0; k < 4; ++k) s[k] = _mm512_add_ps(s[k], s[k + 4]);
        KVS_UNROLL
        for (int k = 0; k < 2; ++k) s[k] = _mm512_add_ps(s[k], s[k + 2]);
        _mm512_mask_storeu_ps(a.out + (t0 + t) * a.rows + row, rows_mask, _mm512_add_ps(s[0], s[1]));
      }
    }
  }
  _tile_release();
}

#undef KVS_AMX_BLOCK

}  // namespace
}  // namespace amx

void AmxPackAct(const uint8_t* xq_row, int64_t xq_row_bytes, int64_t cols, int64_t token,
                uint8_t* xa) {
  // Per group: qs[s] holds quad s of all 16 blocks (4 bytes each); block
  // k's 32 bytes are its 8 quads in order, a transpose of 8 x 16 lanes.
  // They go to the token's row of A tile (group, block) of its token tile:
  // xa[token / 16][group][block][token % 16][32], so that each A tile is
  // 512 contiguous bytes.
  // Groups are ABlockQ8x16, or ABlockQ8x16H (Q2_K) whose first part is one.
  const int64_t ng = (cols + kGroupElems - 1) / kGroupElems;
  const int64_t group_bytes = xq_row_bytes / ng;
  uint8_t* tile = xa + token / amx::kTile * amx::kTile * AmxActRowBytes(cols) + token % amx::kTile * amx::kActBlockBytes;
  for (int64_t g = 0; g < ng; ++g) {
    __m512i r[16];
    const auto* x = reinterpret_cast<const ABlockQ8x16*>(xq_row + g * group_bytes);
    for (int s = 0; s < 8; ++s) r[s] = amx::Load512(x->qs[s]);
    for (int s = 8; s < 16; ++s) r[s] = _mm512_setzero_si512();
    amx::Transpose16x16(r);
    for (int k = 0; k < 16; ++k) {
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(tile + (g * amx::kTile + k) * amx::kTile * amx::kActBlockBytes),
                          _mm512_castsi512_si256(r[k]));
    }
  }
}

void AmxMatMulRows(const MatMulArgs& a, int64_t r0, int64_t r1, uint8_t* scratch) {
  switch (a.type) {
    case DType::kQ4_0: return amx::MatMulPanels<amx::PackedQ4_0>(a, r0, r1, scratch);
    case DType::kQ5_0: return amx::MatMulPanels<amx::PackedQ5_0>(a, r0, r1, scratch);
    case DType::kIQ4_NL: return amx::MatMulPanels<amx::PackedIQ4NL>(a, r0, r1, scratch);
    case DType::kIQ4_XS: return amx::MatMulPanels<amx::PackedIQ4XS>(a, r0, r1, scratch);
    case DType::kQ8_0: return amx::MatMulPanels<amx::PackedQ8_0>(a, r0, r1, scratch);
    case DType::kQ2_K:
      return amx::MatMulPanels<amx::PackedQ2KP>(a, r0, r1, scratch);
    default: KVS_CHECK(false) << "the AMX path does not read " << DTypeName(a.type);
  }
}

}  // namespace kvs::cpu
