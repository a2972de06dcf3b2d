// ReferenceBackend: the scalar oracle. Each op is the plainest loop that
// computes it, in the same float arithmetic order as llama2.c's run.c, so
// that it reproduces run.c's outputs and every fast kernel can be compared
// with it. Slow by design; single-threaded.
//
// Ownership: owns a scratch row for dequantization. Thread-safety: one
// caller at a time.
#pragma once

#include <vector>

#include "backend/backend.h"

namespace kvs {

class ReferenceBackend final : public Backend {
 public:
  std::string_view name() const override { return "reference"; }

  void MatMul(const WeightMatrix& w, const float* x, int64_t n, float* out) override;
  void GetRows(const WeightMatrix& w, const int32_t* ids, int64_t n, float* out) override;
  void RmsNorm(const float* x, const float* weight, int64_t n, int64_t dim, float eps,
               float* out) override;
  void Rope(float* x, const int32_t* positions, int64_t n, int n_heads, int head_dim,
            const RopeParams& rope) override;
  void SwiGlu(const float* gate, const float* up, int64_t n, int64_t d, float* out) override;
  void Add(float* x, const float* y, int64_t count) override;
  void StoreKv(const float* k, const float* v, const int32_t* slots, int64_t n, int64_t kv_dim,
               DType dtype, uint8_t* k_cache, uint8_t* v_cache) override;
  // Reads each cache row through DequantizeRow (tensor/quant.h).
  void PagedAttention(const PagedAttentionArgs& args) override;
  void CopyBlock(uint8_t* cache, int64_t block_bytes, int32_t src, int32_t dst) override;

 private:
  std::vector<float> row_;     // one dequantized weight row
  std::vector<float> scores_;  // attention scores of one head
  std::vector<float> kv_row_;  // one dequantized cache row
};

}  // namespace kvs
