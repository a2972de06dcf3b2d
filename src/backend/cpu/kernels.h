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
  int64_t n = 0;
  float* out = nullptr;  // [n, rows]
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
  // Whether matmul_rows reads Q4_0 / Q4_K weights in the packed layout
  // (pack_q4.h) as well as the file's.
  bool reads_packed_q4;
  // Quantizes one activation row x[cols] into the layout the kernels for
  // weights of type `wtype` in `layout` read (ABlockQ8 for Q8_0/Q4_0,
  // ABlockQ8K for K-quants, ABlockQ8x16 for packed Q4, ABlockQ8x16H for
  // packed Q2_K / Q3_K);
  // ActRowBytes(wtype, layout, cols) bytes.
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
  // halves as two streams, software prefetch as in the tiles). bytes % 256
  // == 0.
  uint64_t (*read_fold)(const uint8_t* p, int64_t bytes, bool kernel_pattern);
};

// Bytes of one quantized activation row for weights of type wtype in
// `layout`; 0 for float weight types (their kernels read x directly).
int64_t ActRowBytes(DType wtype, WeightLayout layout, int64_t cols);

const KernelTable& ScalarKernels();
const KernelTable& Avx2Kernels();
const KernelTable& Avx512Kernels();
const KernelTable& KernelsFor(Isa isa);

// F32 weights, all paths: the reference backend's exact arithmetic (one
// float accumulator per output, multiply then add, columns in order), so
// that F32 models reproduce the reference (and llama2.c) bit for bit.
void MatMulRowsF32Exact(const MatMulArgs& args, int64_t row_begin, int64_t row_end);

}  // namespace kvs::cpu
