// Backend: the compute operations a model architecture is written against.
//
// Two implementations sit behind it: backend/reference (scalar, readable, the
// oracle) and backend/cpu (SIMD and threads). Every op of the fast backend is
// compared with the reference in backend_ops_test. Ownership: a backend owns
// its threads and scratch; all pointers passed in are borrowed.
// Thread-safety: one caller at a time (the engine thread).
//
// Batch invariance: every op computes each output row from its own input row
// with an arithmetic order that does not depend on how many rows are in the
// call, so a request's results do not depend on what it is batched with.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string_view>
#include <vector>

#include "backend/backend_buffer.h"
#include "base/huge_pages.h"
#include "tensor/dtype.h"
#include "tensor/tensor.h"

namespace kvs {

// The element types a KV cache may hold: F32 (exact), F16, BF16 (half the
// bytes) and Q8_0 (blocks of 32 int8 values and an f16 scale along a row:
// 34 bytes per 32 values). Every backend reads each of them directly.
inline bool IsKvCacheDType(DType t) {
  return t == DType::kF32 || t == DType::kF16 || t == DType::kBF16 || t == DType::kQ8_0;
}
// Bytes of one cache row of kv_dim values. REQUIRES: kv_dim % BlockElems(t) == 0.
inline int64_t KvRowBytes(DType t, int64_t kv_dim) { return RowBytes(t, kv_dim); }

// Attention of a flattened batch of query tokens over the paged KV cache.
struct PagedAttentionArgs {
  const float* q = nullptr;  // [n_tokens, n_heads, head_dim]
  float* out = nullptr;      // [n_tokens, n_heads, head_dim]
  int64_t n_tokens = 0;
  int n_heads = 0;
  int n_kv_heads = 0;  // n_heads % n_kv_heads == 0 (grouped-query attention)
  int head_dim = 0;
  // Token i attends to positions [0, positions[i]] of its own sequence.
  const int32_t* positions = nullptr;  // [n_tokens]
  // block_tables[i] is token i's sequence's block table: position p lives in
  // block block_tables[i][p / block_size], slot p % block_size.
  const int32_t* const* block_tables = nullptr;  // [n_tokens] -> [n_blocks_of_seq]
  // One layer's cache, [n_blocks, block_size, row] each, a row being
  // n_kv_heads * head_dim values stored as kv_dtype (KvRowBytes bytes).
  const uint8_t* k_cache = nullptr;
  const uint8_t* v_cache = nullptr;
  DType kv_dtype = DType::kF32;  // IsKvCacheDType
  int block_size = 0;
  float scale = 0;  // usually 1 / sqrt(head_dim)
};

// Which dimensions of a head rotate together. GGUF `llama` files store Q and
// K permuted so that pair p is (2p, 2p + 1); Qwen and other NeoX-style
// families pair p with p + head_dim / 2.
enum class RopeStyle { kAdjacent, kHalves };

struct RopeParams {
  float freq_base = 10000.f;
  RopeStyle style = RopeStyle::kAdjacent;
  // [head_dim / 2] divisors of each pair's frequency (Llama 3.1's
  // rope_freqs.weight), or null for none. Borrowed; immutable.
  const float* freq_factors = nullptr;
};

// Weight matrices as a backend's MatMul reads them fastest, and the memory
// behind them when the backend made its own copy (null when `matrices` are
// the file's own views).
struct PreparedWeights {
  std::vector<WeightMatrix> matrices;
  HugePageBuffer storage;
};

// One part of MatMulParts' output.
struct MatMulPart {
  float* out = nullptr;  // [n, rows]
  int64_t rows = 0;
};
// Rows per part boundary in MatMulParts: whole 32-row bands and 16-row
// tiles of the packed layouts.
constexpr int64_t kMatMulPartAlign = 32;
// Aborts unless parts meet MatMulParts' REQUIRES for w.
void CheckMatMulParts(const WeightMatrix& w, std::span<const MatMulPart> parts);

class Backend {
 public:
  virtual ~Backend() = default;
  virtual std::string_view name() const = 0;

  // Zeroed memory of at least `bytes` for the ops of this backend to use
  // (the KV pool); null when it cannot be had.
  virtual std::unique_ptr<BackendBuffer> AllocateBuffer(size_t bytes) {
    return HostBuffer::Create(bytes);
  }

  // Called once at load with every MatMul matrix of a model: returns, in
  // the same order, the views MatMul should be given (the same numbers,
  // possibly copied or repacked into storage the result owns). Calls
  // copied(i) as soon as matrix i has been copied, so that the caller can
  // release its source before the next is read. GetRows takes only
  // file-layout matrices; MatMul accepts both.
  virtual PreparedWeights PrepareWeights(std::span<const WeightMatrix> ws,
                                         const std::function<void(size_t)>& copied = nullptr) {
    (void)copied;
    return {std::vector<WeightMatrix>(ws.begin(), ws.end()), nullptr};
  }

  // out[n, w.rows] = x[n, w.cols] . w^T
  virtual void MatMul(const WeightMatrix& w, const float* x, int64_t n, float* out) = 0;
  // MatMul with its output split by rows: w's rows in order, parts[i].rows
  // of them to parts[i].out [n, parts[i].rows] (a fused q | k | v or gate |
  // up matrix, each part as the next op reads it). One pass where a MatMul
  // per part would each quantize x and wait for all threads again; the
  // same numbers. REQUIRES: the parts' rows sum to w.rows, and each part
  // but the last has a multiple of kMatMulPartAlign rows. This default runs
  // a MatMul per part.
  virtual void MatMulParts(const WeightMatrix& w, const float* x, int64_t n,
                           std::span<const MatMulPart> parts);
  // out[n, w.cols] = rows ids[0..n) of w, dequantized.
  virtual void GetRows(const WeightMatrix& w, const int32_t* ids, int64_t n, float* out) = 0;
  // out[n, dim] = x / sqrt(mean(x^2) + eps) * weight[dim]. out may equal x.
  virtual void RmsNorm(const float* x, const float* weight, int64_t n, int64_t dim, float eps,
                       float* out) = 0;
  // Rotates x[n, n_heads, head_dim] in place: pair p of each head (see
  // RopeStyle) by angle positions[t] * freq_base^(-2p / head_dim) / factor[p].
  virtual void Rope(float* x, const int32_t* positions, int64_t n, int n_heads, int head_dim,
                    const RopeParams& rope) = 0;
  // out[n, d] = silu(gate) * up; gate, up [n, d]. out may equal gate.
  virtual void SwiGlu(const float* gate, const float* up, int64_t n, int64_t d, float* out) = 0;
  // x[count] += y[count]
  virtual void Add(float* x, const float* y, int64_t count) = 0;
  // Writes k, v [n, kv_dim] into the cache slots slots[i] = block *
  // block_size + offset, each row rounded to `dtype` as QuantizeRow
  // (tensor/quant.h) defines it: cache [n_slots_total, KvRowBytes(dtype,
  // kv_dim)] bytes. REQUIRES: IsKvCacheDType(dtype), kv_dim %
  // BlockElems(dtype) == 0.
  virtual void StoreKv(const float* k, const float* v, const int32_t* slots, int64_t n,
                       int64_t kv_dim, DType dtype, uint8_t* k_cache, uint8_t* v_cache) = 0;
  virtual void PagedAttention(const PagedAttentionArgs& args) = 0;
  // Copies whole blocks within one layer's cache (copy-on-write), as bytes
  // whatever the dtype: cache [n_blocks, block_bytes].
  virtual void CopyBlock(uint8_t* cache, int64_t block_bytes, int32_t src, int32_t dst) = 0;
};

}  // namespace kvs
