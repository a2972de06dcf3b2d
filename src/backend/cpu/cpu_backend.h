// CpuBackend: the fast CPU implementation of Backend: SIMD kernels (AVX-512
// VNNI, AVX2 or portable scalar, chosen once at creation) and a thread pool.
//
// MatMul on quantized weights quantizes each activation row once per call
// (decode: once on each thread, into its own copy) and runs integer dot
// products; decode (n = 1) reads each thread's own slice of weight rows as
// two streams (its front and back halves), n > 1 reuses each weight tile
// across several tokens.
// Attention is one pass with online softmax, the query heads of a KV group
// sharing each K/V load; threads split over (token, kv_head).
//
// Batch invariance: every output element is computed with the same
// arithmetic whatever n is and however rows are split over threads (see
// kernels.h). F32 MatMul, RmsNorm, Rope and Add reproduce the reference
// backend bit for bit; the others differ from it by rounding only (SIMD
// summation order, activation quantization, a polynomial exp), within the
// bounds backend_ops_test states.
//
// Ownership: owns its threads and scratch buffers; all tensors passed in are
// borrowed. Thread-safety: one caller at a time. Steady-state calls do not
// allocate: scratch grows to the largest call seen and stays.
#pragma once

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "backend/backend.h"
#include "backend/cpu/isa.h"
#include "backend/cpu/kernels.h"
#include "base/aligned_vector.h"
#include "base/status.h"
#include "base/thread_pool.h"

namespace kvs {

struct CpuBackendOptions {
  int n_threads = 0;               // 0: every hardware thread
  std::optional<cpu::Isa> isa;     // unset: the best this CPU supports
  // On the avx512 path, BF16 weights by vdpbf16ps against activations
  // rounded to bf16 (true) or widened onto the FMA bands (false); unset:
  // cpu::Bf16DotIsFaster(). Other paths refuse true.
  std::optional<bool> bf16_dot;
  // Software prefetch distance of the MatMul kernels in bytes, 0 for none;
  // unset: cpu::SoftwarePrefetchBytes(). Changes speed only, never results.
  std::optional<int64_t> prefetch_bytes;
  // PrepareWeights leaves the matrices its kernels read in the file's own
  // layout where they are (the model's mapping) instead of copying them:
  // a faster load and pages shared with other processes mapping the same
  // file, for slower decode (13-30% measured, docs/BENCHMARKS.md). Matrices
  // it repacks are copied either way.
  bool weights_in_place = false;
};

class CpuBackend final : public Backend {
 public:
  // Fails if the requested instruction set is not supported here.
  static StatusOr<std::unique_ptr<CpuBackend>> Create(const CpuBackendOptions& options);

  std::string_view name() const override { return name_; }
  cpu::Isa isa() const { return kernels_.isa; }
  bool bf16_dot() const { return kernels_.bf16_dot; }
  int64_t prefetch_bytes() const { return prefetch_bytes_; }
  int n_threads() const { return pool_.n_threads(); }

  // Copies every matrix into one huge-page arena (see the .cc for why);
  // quantized types become the packed layout (pack_quant.h) where the kernels read
  // it (AVX-512 VNNI). Matrices already packed are returned as they are;
  // with weights_in_place, so are those that keep the file's layout.
  PreparedWeights PrepareWeights(std::span<const WeightMatrix> ws,
                                 const std::function<void(size_t)>& copied = nullptr) override;
  void MatMul(const WeightMatrix& w, const float* x, int64_t n, float* out) override;
  // One parallel section and one quantization of x for all the parts; each
  // thread's chunks of rows are cut where parts meet.
  void MatMulParts(const WeightMatrix& w, const float* x, int64_t n, std::span<const MatMulPart> parts) override;
  void GetRows(const WeightMatrix& w, const int32_t* ids, int64_t n, float* out) override;
  void RmsNorm(const float* x, const float* weight, int64_t n, int64_t dim, float eps,
               float* out) override;
  void Rope(float* x, const int32_t* positions, int64_t n, int n_heads, int head_dim,
            const RopeParams& rope) override;
  void SwiGlu(const float* gate, const float* up, int64_t n, int64_t d, float* out) override;
  void Add(float* x, const float* y, int64_t count) override;
  void StoreKv(const float* k, const float* v, const int32_t* slots, int64_t n, int64_t kv_dim,
               DType dtype, uint8_t* k_cache, uint8_t* v_cache) override;
  void PagedAttention(const PagedAttentionArgs& args) override;
  void CopyBlock(uint8_t* cache, int64_t block_bytes, int32_t src, int32_t dst) override;

  // The read bandwidth (GB/s, best of `passes`) that this backend's threads
  // reach over buf[0, bytes), each reading its own contiguous slice with the
  // kernel path's read loop (KernelTable::read_fold): the memory ceiling
  // that `kvserve bench` sets decode speed against. buf should be far
  // larger than the caches and already faulted in; the caller owns it.
  double MeasureReadBandwidth(const uint8_t* buf, int64_t bytes, int passes, bool kernel_pattern);

 private:
  CpuBackend(int n_threads, const cpu::KernelTable& kernels, bool weights_in_place, int64_t prefetch_bytes);

  // Runs fn(begin, end) over [0, n) split in contiguous chunks, on the
  // calling thread alone when n * cost_per_item is too small to share.
  template <class Fn>
  void ParallelFor(int64_t n, int64_t cost_per_item, const Fn& fn);

  // One thread's share of a MatMul's rows: [next, end), taken in chunks;
  // with step > 0 (decode) each row r is paired with row r + step, and
  // row `single` (if >= 0) is the owner's to compute alone.
  struct alignas(64) RowSlice {
    std::atomic<int64_t> next{0};
    int64_t end = 0;
    int64_t step = 0;
    int64_t single = -1;
  };

  ThreadPool pool_;
  const cpu::KernelTable& kernels_;
  const bool weights_in_place_;
  const int64_t prefetch_bytes_;  // MatMulArgs::prefetch_bytes
  std::unique_ptr<RowSlice[]> slices_;  // [n_threads]
  std::string name_;
  // On cache lines: the quantized kernels read activations in 64-byte loads.
  AlignedVector<uint8_t> xq_;          // quantized activations [n, ActRowBytes]
  // The AMX path's activations in tile order [round_up(n, 16),
  // AmxActRowBytes]; each thread's scratch for the tile and panel paths
  // [n_threads, AmxScratchBytes, 1 KiB or PanelScratchBytes].
  AlignedVector<uint8_t> xa_;
  AlignedVector<uint8_t> tile_scratch_;
  AlignedVector<float> attn_scratch_;  // per thread AttentionScratchFloats
  // Rope's (cos, sin) pairs [n, head_dim] for rope_positions_ [n], at
  // rope_head_dim_ and rope_freq_base_ (head_dim 0: none yet).
  std::vector<float> rope_table_;
  std::vector<int32_t> rope_positions_;
  int rope_head_dim_ = 0;
  float rope_freq_base_ = 0;
  const float* rope_freq_factors_ = nullptr;
};

}  // namespace kvs
