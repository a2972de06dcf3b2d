#include "backend/reference/reference_backend.h"

#include <cmath>
#include <cstring>

#include "base/check.h"
#include "tensor/quant.h"

namespace kvs {

void ReferenceBackend::MatMul(const WeightMatrix& w, const float* x, int64_t n, float* out) {
  KVS_CHECK(w.layout == WeightLayout::kFile) << "the reference reads only the file's layout";
  row_.resize(w.cols);
  // Rows outer so that each weight row is dequantized once for all of x.
  for (int64_t r = 0; r < w.rows; ++r) {
    const float* wr;
    if (w.type == DType::kF32) {
      wr = reinterpret_cast<const float*>(w.row(r));
    } else {
      DequantizeRow(w.type, w.row(r), row_.data(), w.cols);
      wr = row_.data();
    }
    for (int64_t t = 0; t < n; ++t) {
      const float* xt = x + t * w.cols;
      float acc = 0.0f;
      for (int64_t j = 0; j < w.cols; ++j) acc += wr[j] * xt[j];
      out[t * w.rows + r] = acc;
    }
  }
}

void ReferenceBackend::GetRows(const WeightMatrix& w, const int32_t* ids, int64_t n, float* out) {
  KVS_CHECK(w.layout == WeightLayout::kFile) << "GetRows reads only the file's layout";
  for (int64_t t = 0; t < n; ++t) DequantizeRow(w.type, w.row(ids[t]), out + t * w.cols, w.cols);
}

void ReferenceBackend::RmsNorm(const float* x, const float* weight, int64_t n, int64_t dim,
                               float eps, float* out) {
  for (int64_t t = 0; t < n; ++t) {
    const float* xt = x + t * dim;
    float* ot = out + t * dim;
    float ss = 0.0f;
    for (int64_t j = 0; j < dim; ++j) ss += xt[j] * xt[j];
    ss /= static_cast<float>(dim);
    ss += eps;
    ss = 1.0f / std::sqrt(ss);
    for (int64_t j = 0; j < dim; ++j) ot[j] = weight[j] * (ss * xt[j]);
  }
}

void ReferenceBackend::Rope(float* x, const int32_t* positions, int64_t n, int n_heads,
                            int head_dim, const RopeParams& rope) {
  const int half = head_dim / 2;
  for (int64_t t = 0; t < n; ++t) {
    const float pos = static_cast<float>(positions[t]);
    for (int h = 0; h < n_heads; ++h) {
      float* v = x + (t * n_heads + h) * head_dim;
      for (int p = 0; p < half; ++p) {
        float freq = 1.0f / std::pow(rope.freq_base, (2 * p) / static_cast<float>(head_dim));
        if (rope.freq_factors != nullptr) freq /= rope.freq_factors[p];
        const float angle = pos * freq;
        const float c = std::cos(angle);
        const float s = std::sin(angle);
        const int i0 = rope.style == RopeStyle::kAdjacent ? 2 * p : p;
        const int i1 = rope.style == RopeStyle::kAdjacent ? 2 * p + 1 : p + half;
        const float v0 = v[i0];
        const float v1 = v[i1];
        v[i0] = v0 * c - v1 * s;
        v[i1] = v0 * s + v1 * c;
      }
    }
  }
}

void ReferenceBackend::SwiGlu(const float* gate, const float* up, int64_t n, int64_t d,
                              float* out) {
  for (int64_t i = 0; i < n * d; ++i) {
    float g = gate[i];
    g *= 1.0f / (1.0f + std::exp(-g));
    out[i] = g * up[i];
  }
}

void ReferenceBackend::Add(float* x, const float* y, int64_t count) {
  for (int64_t i = 0; i < count; ++i) x[i] += y[i];
}

void ReferenceBackend::StoreKv(const float* k, const float* v, const int32_t* slots, int64_t n,
                               int64_t kv_dim, DType dtype, uint8_t* k_cache, uint8_t* v_cache) {
  const int64_t row_bytes = KvRowBytes(dtype, kv_dim);
  for (int64_t t = 0; t < n; ++t) {
    QuantizeRow(dtype, k + t * kv_dim, k_cache + int64_t{slots[t]} * row_bytes, kv_dim);
    QuantizeRow(dtype, v + t * kv_dim, v_cache + int64_t{slots[t]} * row_bytes, kv_dim);
  }
}

void ReferenceBackend::PagedAttention(const PagedAttentionArgs& a) {
  const int group = a.n_heads / a.n_kv_heads;
  const int64_t kv_dim = int64_t{a.n_kv_heads} * a.head_dim;
  const int64_t row_bytes = KvRowBytes(a.kv_dtype, kv_dim);
  kv_row_.resize(kv_dim);
  // Row `slot` of a cache, decoded into kv_row_.
  auto row = [&](const uint8_t* cache, int64_t slot) {
    DequantizeRow(a.kv_dtype, cache + slot * row_bytes, kv_row_.data(), kv_dim);
    return kv_row_.data();
  };
  for (int64_t t = 0; t < a.n_tokens; ++t) {
    const int32_t last = a.positions[t];
    const int32_t* table = a.block_tables[t];
    scores_.resize(last + 1);
    for (int h = 0; h < a.n_heads; ++h) {
      const float* q = a.q + (t * a.n_heads + h) * a.head_dim;
      const int64_t head_off = int64_t{h / group} * a.head_dim;
      auto slot_of = [&](int32_t p) {
        return int64_t{table[p / a.block_size]} * a.block_size + p % a.block_size;
      };
      float max_score = -INFINITY;
      for (int32_t p = 0; p <= last; ++p) {
        const float* k = row(a.k_cache, slot_of(p)) + head_off;
        float s = 0.0f;
        for (int i = 0; i < a.head_dim; ++i) s += q[i] * k[i];
        s *= a.scale;
        scores_[p] = s;
        if (s > max_score) max_score = s;
      }
      float sum = 0.0f;
      for (int32_t p = 0; p <= last; ++p) {
        scores_[p] = std::exp(scores_[p] - max_score);
        sum += scores_[p];
      }
      for (int32_t p = 0; p <= last; ++p) scores_[p] /= sum;
      float* o = a.out + (t * a.n_heads + h) * a.head_dim;
      for (int i = 0; i < a.head_dim; ++i) o[i] = 0.0f;
      for (int32_t p = 0; p <= last; ++p) {
        const float* v = row(a.v_cache, slot_of(p)) + head_off;
        for (int i = 0; i < a.head_dim; ++i) o[i] += scores_[p] * v[i];
      }
    }
  }
}

void ReferenceBackend::CopyBlock(uint8_t* cache, int64_t block_bytes, int32_t src, int32_t dst) {
  std::memcpy(cache + int64_t{dst} * block_bytes, cache + int64_t{src} * block_bytes,
              block_bytes);
}

}  // namespace kvs
