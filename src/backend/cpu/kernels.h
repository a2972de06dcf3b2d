// KernelTable: the per-instruction-set kernels behind CpuBackend, as plain
// function pointers chosen once when the backend is created.
//
// Each kernel works on a slice of the op (rows of a weight matrix, one
// attention item, one row) so that CpuBackend owns all threading and
// scratch; kernels never allocate. Kernels of one table are deterministic
// and compute every output element with an arithmetic order that depends
// only on that element's inputs (never on n or on the slice bounds): this is
// what makes results batch-invariant.
#pragma once

#include <cstdint>

#include "backend/backend.h"
#include "backend/cpu/isa.h"
#include "backend/cpu/pack_bands.h"
#include "tensor/dtype.h"
#include "tensor/tensor.h"

namespace kvs::cpu {

// One MatMul's operands: out[n, rows] = x[n, cols] . w[rows, cols]^T.
struct MatMulArgs {
  DType type = DType::kF32;
  WeightLayout layout = WeightLayout::kFile;  // kPacked: blocks.h "Packed Q4"
  int64_t rows = 0;
  int64_t cols = 0;
  const uint8_t* w = nullptr;  // rows of w_row_bytes
  int64_t w_row_bytes = 0;
  const float* x = nullptr;  // [n, cols], read by F32/F16/BF16 kernels
  // [n, xq_row_bytes]: x quantized by quantize_row, read by quantized kernels.
  const uint8_t* xq = nullptr;
  int64_t xq_row_bytes = 0;
  // round_up(n, 16) * AmxActRowBytes(cols) bytes: xq repacked by
  // amx_pack_act (amx_matmul_rows only; tokens past n zero, in xa and in
  // xq, whose rows then run to round_up(n, 16) as well). For
  // bf16_matmul_rows: x rounded to bf16, round_up(n, 16) rows of cols (those
  // past n may hold anything: their results are dropped). For
  // band_matmul_rows with n > 1: x copied by PackBandActs (pack_bands.h).
  const uint8_t* xa = nullptr;
  int64_t n = 0;
  float* out = nullptr;  // [n, rows]
  // Software prefetch: the kernels ask for the weight line this many bytes
  // ahead of each one they load, or for none when 0 (CpuBackend's choice,
  // cpu::SoftwarePrefetchBytes). Changes no result.
  int64_t prefetch_bytes = 0;
};

// Attention scores are computed kAttnChunk positions at a time; the online
// softmax rescales the running output once per chunk.
constexpr int kAttnChunk = 64;
// Scratch one attention item needs, in floats:
// acc [group, head_dim], scores [group, kAttnChunk], max [group], sum [group],
// and a chunk's K and V rows decoded to float [2, kAttnChunk, head_dim]
// (16-bit and Q8_0 caches).
int64_t AttentionScratchFloats(int group, int head_dim);

struct KernelTable {
  Isa isa;
  // Which quantized types matmul_rows reads in the packed layout
  // (pack_quant.h) as well as the file's; PrepareWeights packs those. Null
  // where it reads none.
  bool (*reads_packed)(DType wtype);
  // Quantizes one activation row x[cols] into the layout the kernels for
  // weights of type `wtype` in `layout` read (ABlockQ8 for Q8_0/Q4_0,
  // ABlockQ8K for K-quants, ABlockQ8x16 for packed Q4, ABlockQ8x16H for
  // packed Q2_K / Q3_K / Q6_K; bf16 for BF16 where bf16_dot is set);
  // ActRowBytes(table, wtype, layout, cols) bytes.
  void (*quantize_row)(DType wtype, WeightLayout layout, const float* x, int64_t cols, uint8_t* out);
  // Computes out[t, r] for every t < n and r in [row_begin, row_end).
  void (*matmul_rows)(const MatMulArgs& args, int64_t row_begin, int64_t row_end);
  // Decode (n == 1): rows [first, first + count) and [second, second +
  // count), one row of each in turn, so that one core keeps two weight
  // streams in flight. Measured on this VM's EPYC, one core reading F16
  // rows: one stream ~27 GB/s, two streams >= 1 MiB apart ~33, two
  // adjacent rows interleaved (4 KiB apart) ~16. The ranges must not overlap.
  void (*matvec_two_streams)(const MatMulArgs& args, int64_t first, int64_t second, int64_t count);
  // Attention of query token `token` for KV head `kv_head` (all the query
  // heads of its group), one pass with online softmax. scratch holds
  // AttentionScratchFloats(n_heads / n_kv_heads, head_dim) floats.
  void (*attention)(const PagedAttentionArgs& args, int64_t token, int kv_head, float* scratch);
  // One KV cache row x[n] rounded to `dtype` (F16, BF16 or Q8_0) exactly as
  // QuantizeRow (tensor/quant.h) rounds it: KvRowBytes(dtype, n) bytes.
  void (*store_kv_row)(DType dtype, const float* x, int64_t n, uint8_t* out);
  // out[i] = silu(gate[i]) * up[i] for i < count.
  void (*swiglu)(const float* gate, const float* up, int64_t count, float* out);
  // XOR-folds the 64-bit words of p[0, bytes) with the widest loads of the
  // path, four independent chains so that the loads set the pace: the read
  // loops behind CpuBackend::MeasureReadBandwidth. kernel_pattern = false:
  // a textbook loop, one stream, no software prefetch. true: the decode
  // kernels' access pattern without their arithmetic (the front and back
  // halves as two streams, software prefetch prefetch_bytes ahead as in the
  // tiles). bytes % 256 == 0.
  uint64_t (*read_fold)(const uint8_t* p, int64_t bytes, bool kernel_pattern, int64_t prefetch_bytes);
  // Isa::kAmx only (null elsewhere): MatMul of packed weights of a type
  // AmxReads accepts on the AMX tile unit, for n >= kAmxMinTokens. Same
  // results as matmul_rows bit for bit (the tiles compute each block's exact
  // integer dot; the float steps are matmul_rows' own, in its order), so
  // that a batch stays batch-invariant whichever path it takes.
  // amx_pack_act repacks token `token`'s row quantized by quantize_row
  // (xq_row_bytes of ABlockQ8x16 or ABlockQ8x16H groups) into its place in
  // xa, the tiles' order;
  // amx_matmul_rows computes rows [row_begin, row_end) for every token from
  // args.xa, with AmxScratchBytes(cols) bytes of scratch (64-byte aligned)
  // for the calling thread alone.
  void (*amx_pack_act)(const uint8_t* xq_row, int64_t xq_row_bytes, int64_t cols, int64_t token,
                       uint8_t* xa);
  void (*amx_matmul_rows)(const MatMulArgs& args, int64_t row_begin, int64_t row_end, uint8_t* scratch);
  // Isa::kAmx only (null elsewhere): every MatMul (decode too) of BF16
  // weights in the packed layout (pack_bf16.h; PrepareWeights packs them on
  // this path only), on the tile unit, with the activations rounded to
  // bf16. bf16_pack_act rounds one row x[cols] into xb (cols bf16);
  // bf16_matmul_rows computes rows [row_begin, row_end) (multiples of 16)
  // for every token from args.xa, the rounded rows, which must run to
  // round_up(n, 16) (the rows past n are read, their results dropped), with
  // 1 KiB of scratch (64-byte aligned) for the calling thread alone.
  void (*bf16_pack_act)(const float* x, int64_t cols, uint8_t* xb);
  void (*bf16_matmul_rows)(const MatMulArgs& args, int64_t row_begin, int64_t row_end, uint8_t* scratch);
  // AVX-512 VNNI (and AMX below kAmxMinTokens; null elsewhere): MatMul of
  // packed weights of a type it reads, n >= PanelMinTokens(type),
  // rows [row_begin, row_end) a panel at a time, each unfolded once into
  // scratch (PanelScratchBytes, for the calling thread alone) as whole
  // bytes. Same results as matmul_rows bit for bit (simd_panel-inl.h).
  void (*panel_matmul_rows)(const MatMulArgs& args, int64_t row_begin, int64_t row_end, uint8_t* scratch);
  // AVX-512 (null elsewhere): every MatMul (decode too) of F16 or BF16
  // weights in the banded layout (pack_bands.h; PrepareWeights bands them
  // where this is set and the BF16 tiles do not take them), rows
  // [row_begin, row_end) in whole bands, with kBandScratchBytes of scratch
  // (64-byte aligned) for the calling thread alone (simd_bands-inl.h).
  void (*band_matmul_rows)(const MatMulArgs& args, int64_t row_begin, int64_t row_end, uint8_t* scratch);
  // AVX-512 only: BF16 weights keep the file's layout (not bands) and every
  // MatMul of them, decode too, runs vdpbf16ps against activations rounded
  // to bf16 (quantize_row; simd_bf16_dot-inl.h). Which is faster depends on
  // the core, not the instruction set (Bf16DotIsFaster, isa.h); the
  // results differ by that rounding.
  bool bf16_dot = false;
};

// The band path's n > 1 tiles pass over kBandCols columns (pack_bands.h)
// at a time, widened to floats into scratch first.
constexpr int64_t kBandScratchBytes = kBandCols * kBandRows * 4;

// The fewest tokens from which the panel path takes packed weights of type
// wtype (unfolding must be repaid), or 0 where it does not read them.
// Measured (bench/matmul_bench, 5632 x 2048, 1 thread, Xeon VM, GMAC/s,
// panel against the packed tile, alternating): Q2_K n = 8 93-96 / 77-79,
// n = 16 124-126 / 95-96; the Q4 family even at n = 16 (Q4_K 106-136 /
// 112-137), ahead from n = 32 (Q4_K 126-164 / 130-137, Q5_K 139-165 /
// 84-107, IQ4_NL 161-184 / 134-138) and at n = 512 (Q5_K 163-196 /
// 107-108, IQ4_XS 152-211 / 124-141); Q4_0, whose tile unpacks least,
// behind (n = 512 FFN-down 150-154 / 172-179, n = 8 107-108 / 149-151).
int64_t PanelMinTokens(DType wtype);
// A panel: the rows whose unfolded groups (704 bytes per 512 elements for
// Q2_K, 640 for the others) fit kPanelBytes, kept in L2 while the token
// chunks pass over them; at least the tile's 4 rows.
constexpr int64_t kPanelBytes = 256 << 10;
constexpr int64_t kFoldedQ2KGroupBytes = 704;
constexpr int64_t kFoldedQ4GroupBytes = 640;
inline int64_t PanelRowBytes(DType wtype, int64_t cols) {
  return (cols + 511) / 512 * (wtype == DType::kQ2_K ? kFoldedQ2KGroupBytes : kFoldedQ4GroupBytes);
}
inline int64_t PanelRows(DType wtype, int64_t cols) {
  const int64_t rows = kPanelBytes / PanelRowBytes(wtype, cols) / 4 * 4;
  return rows < 4 ? 4 : rows;
}
// The tiles run over a panel in passes of kPanelPassGroups groups of 512
// and chunks of kPanelPassTokens tokens, each (row, token)'s 64-byte
// accumulator kept between passes (PanelPartialBytes).
constexpr int64_t kPanelPassGroups = 4;
constexpr int64_t kPanelPassTokens = 12;
inline int64_t PanelPartialBytes(DType wtype, int64_t cols) {
  return PanelRows(wtype, cols) * kPanelPassTokens * 64;
}
inline int64_t PanelScratchBytes(DType wtype, int64_t cols) {
  return PanelRows(wtype, cols) * PanelRowBytes(wtype, cols) + PanelPartialBytes(wtype, cols);
}

// The AMX path from kAmxMinTokens tokens: each 16-row panel is unpacked for
// the tiles once per call, which fewer tokens do not repay (bench/
// matmul_bench, Q4_0 5632 x 2048, 1 thread, a Sapphire Rapids-class VM: n = 16 AMX
// 117 GMAC/s against VNNI 142; n = 32: 153 / 138; n = 512: 186 / 138).
constexpr int64_t kAmxMinTokens = 32;
// Packed types the AMX path reads: Q4_0, Q5_0, IQ4_NL, IQ4_XS, Q8_0 and
// Q2_K (not the types with a min: kernels_scalar.cc says why).
bool AmxReads(DType wtype);
int64_t AmxActRowBytes(int64_t cols);
int64_t AmxScratchBytes(int64_t cols);
// kernels_amx.cc's two kernels (AmxKernels' amx_pack_act, amx_matmul_rows).
void AmxPackAct(const uint8_t* xq_row, int64_t xq_row_bytes, int64_t cols, int64_t token,
                uint8_t* xa);
void AmxMatMulRows(const MatMulArgs& args, int64_t row_begin, int64_t row_end, uint8_t* scratch);
// bf16_tiles_amx.cc's kernel (AmxKernels' bf16_matmul_rows).
void AmxBf16MatMulRows(const MatMulArgs& args, int64_t row_begin, int64_t row_end, uint8_t* scratch);

// Bytes of one quantized activation row for weights of type wtype in
// `layout` on `table`; 0 where the kernels read x directly (F32, F16, and
// BF16 but for bf16_dot tables).
int64_t ActRowBytes(const KernelTable& table, DType wtype, WeightLayout layout, int64_t cols);

const KernelTable& ScalarKernels();
const KernelTable& Avx2Kernels();
const KernelTable& Avx512Kernels();
const KernelTable& Avx512Bf16DotKernels();  // Avx512Kernels with bf16_dot set
const KernelTable& AmxKernels();
// bf16_dot: Avx512Bf16DotKernels for kAvx512 (ignored on other paths).
const KernelTable& KernelsFor(Isa isa, bool bf16_dot = false);

// F32 weights, all paths: the reference backend's exact arithmetic (one
// float accumulator per output, multiply then add, columns in order), so
// that F32 models reproduce the reference (and llama2.c) bit for bit.
void MatMulRowsF32Exact(const MatMulArgs& args, int64_t row_begin, int64_t row_end);

}  // namespace kvs::cpu
