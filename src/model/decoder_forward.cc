#include "model/decoder_forward.h"

#include <cmath>
#include <cstring>

namespace kvs {

DecoderForward::DecoderForward(const Model* model, Backend* backend, KvStorage* kv)
    : model_(model), backend_(backend), kv_(kv), weights_(model->weights()) {
  std::vector<WeightMatrix*> mats;
  for (LayerWeights& lw : weights_.layers) {
    for (WeightMatrix* m : {&lw.wq, &lw.wk, &lw.wv, &lw.wo, &lw.w_gate, &lw.w_up, &lw.w_down}) mats.push_back(m);
  }
  mats.push_back(&weights_.output);
  std::vector<WeightMatrix> in;
  for (WeightMatrix* m : mats) in.push_back(*m);
  // The file's copy of a matrix the backend copied is not read again
  // (GetRows reads token_embd, whose pages fault back in if it was one of
  // them): release it at once, so that loading never holds both.
  prepared_ = backend_->PrepareWeights(in, [&](size_t i) {
    model_->file().DropPages(in[i].data, static_cast<size_t>(in[i].rows * in[i].row_bytes()));
  });
  for (size_t i = 0; i < mats.size(); ++i) *mats[i] = prepared_.matrices[i];
  rope_ = RopeParams{model->config().rope_freq_base, model->config().rope_style,
                     weights_.rope_freqs};
  for (const LayerWeights& lw : weights_.layers) {
    fused_.push_back({Concat({&lw.wq, &lw.wk, &lw.wv}), Concat({&lw.w_gate, &lw.w_up})});
  }
}

std::optional<WeightMatrix> DecoderForward::Concat(std::initializer_list<const WeightMatrix*> ms) {
  const WeightMatrix& first = **ms.begin();
  WeightMatrix all = first;
  all.rows = 0;
  for (const WeightMatrix* m : ms) {
    if (m->type != first.type || m->cols != first.cols || m->layout != first.layout ||
        m->row_bytes() != first.row_bytes() || m->data != first.row(all.rows) ||
        (m != *(ms.end() - 1) && m->rows % kMatMulPartAlign != 0)) {
      return std::nullopt;
    }
    all.rows += m->rows;
  }
  return all;
}

void DecoderForward::Reserve(int64_t n, int64_t n_logit_rows, int64_t n_hidden_rows) {
  const ModelConfig& hp = model_->config();
  auto grow = [](AlignedVector<float>& v, int64_t size) {
    if (static_cast<int64_t>(v.size()) < size) v.resize(size);
  };
  grow(x_, n * hp.dim);
  grow(xb_, n * hp.dim);
  grow(qkv_, n * (hp.q_dim() + 2 * hp.kv_dim()));
  grow(att_, n * hp.q_dim());
  grow(gate_up_, n * 2 * hp.hidden_dim);
  grow(last_, n_logit_rows * hp.dim);
  grow(logits_, n_logit_rows * hp.n_vocab);
  grow(hidden_, n_hidden_rows * hp.dim);
}

void DecoderForward::AddBias(float* x, const float* bias, int64_t n, int64_t d) {
  for (int64_t i = 0; i < n; ++i) backend_->Add(x + i * d, bias, d);
}

const float* DecoderForward::Run(Batch& batch) {
  const ModelConfig& hp = model_->config();
  const ModelWeights& w = weights_;
  const int64_t n = batch.n_tokens();
  const int64_t n_out = batch.n_logit_rows();
  const int head_dim = hp.head_dim;
  const int64_t q_dim = hp.q_dim();
  const int64_t kv_dim = hp.kv_dim();
  Reserve(n, n_out, batch.n_hidden_rows());
  batch.ComputeSlots(kv_->block_size());
  float* q = qkv_.data();         // [n, n_heads, head_dim]
  float* k = q + n * q_dim;       // [n, n_kv_heads, head_dim]
  float* v = k + n * kv_dim;      // [n, n_kv_heads, head_dim]
  float* gate = gate_up_.data();  // [n, hidden_dim]
  float* up = gate + n * hp.hidden_dim;

  PagedAttentionArgs attn;
  attn.q = q;
  attn.out = att_.data();
  attn.n_tokens = n;
  attn.n_heads = hp.n_heads;
  attn.n_kv_heads = hp.n_kv_heads;
  attn.head_dim = head_dim;
  attn.positions = batch.positions();
  attn.block_tables = batch.block_tables();
  attn.block_size = kv_->block_size();
  attn.kv_dtype = kv_->dtype();
  attn.scale = 1.0f / std::sqrt(static_cast<float>(head_dim));

  backend_->GetRows(w.token_embd, batch.tokens(), n, x_.data());  // x [n, dim]
  for (int l = 0; l < hp.n_layers; ++l) {
    const LayerWeights& lw = w.layers[l];
    // Attention sublayer.
    backend_->RmsNorm(x_.data(), lw.attn_norm, n, hp.dim, hp.norm_eps, xb_.data());
    if (fused_[l].qkv) {
      const MatMulPart parts[] = {{q, q_dim}, {k, kv_dim}, {v, kv_dim}};
      backend_->MatMulParts(*fused_[l].qkv, xb_.data(), n, parts);
    } else {
      backend_->MatMul(lw.wq, xb_.data(), n, q);
      backend_->MatMul(lw.wk, xb_.data(), n, k);
      backend_->MatMul(lw.wv, xb_.data(), n, v);
    }
    if (lw.q_bias != nullptr) {  // qwen2
      AddBias(q, lw.q_bias, n, q_dim);
      AddBias(k, lw.k_bias, n, kv_dim);
      AddBias(v, lw.v_bias, n, kv_dim);
    }
    if (lw.q_norm != nullptr) {  // qwen3: each head normalised on its own
      backend_->RmsNorm(q, lw.q_norm, n * hp.n_heads, head_dim, hp.norm_eps, q);
      backend_->RmsNorm(k, lw.k_norm, n * hp.n_kv_heads, head_dim, hp.norm_eps, k);
    }
    backend_->Rope(q, batch.positions(), n, hp.n_heads, head_dim, rope_);
    backend_->Rope(k, batch.positions(), n, hp.n_kv_heads, head_dim, rope_);
    backend_->StoreKv(k, v, batch.slots(), n, kv_dim, kv_->dtype(), kv_->k(l), kv_->v(l));
    if (observer_ != nullptr) observer_->OnLayerKvStored(l);
    attn.k_cache = kv_->k(l);
    attn.v_cache = kv_->v(l);
    backend_->PagedAttention(attn);                          // att [n, n_heads, head_dim]
    backend_->MatMul(lw.wo, att_.data(), n, xb_.data());  // [n, dim]
    backend_->Add(x_.data(), xb_.data(), n * hp.dim);
    // Feed-forward sublayer (SwiGLU).
    backend_->RmsNorm(x_.data(), lw.ffn_norm, n, hp.dim, hp.norm_eps, xb_.data());
    if (fused_[l].gate_up) {
      const MatMulPart parts[] = {{gate, hp.hidden_dim}, {up, hp.hidden_dim}};
      backend_->MatMulParts(*fused_[l].gate_up, xb_.data(), n, parts);
    } else {
      backend_->MatMul(lw.w_gate, xb_.data(), n, gate);
      backend_->MatMul(lw.w_up, xb_.data(), n, up);
    }
    backend_->SwiGlu(gate, up, n, hp.hidden_dim, gate);
    backend_->MatMul(lw.w_down, gate, n, xb_.data());  // [n, dim]
    backend_->Add(x_.data(), xb_.data(), n * hp.dim);
  }
  // Embedding rows: the final norm only.
  const int64_t n_hidden = batch.n_hidden_rows();
  for (int64_t i = 0; i < n_hidden; ++i) {
    std::memcpy(hidden_.data() + i * hp.dim, x_.data() + int64_t{batch.hidden_rows()[i]} * hp.dim,
                hp.dim * sizeof(float));
  }
  if (n_hidden > 0) {
    backend_->RmsNorm(hidden_.data(), w.output_norm, n_hidden, hp.dim, hp.norm_eps, hidden_.data());
  }
  // Only the rows that sample go through the final norm and the classifier.
  for (int64_t i = 0; i < n_out; ++i) {
    std::memcpy(last_.data() + i * hp.dim, x_.data() + int64_t{batch.logit_rows()[i]} * hp.dim,
                hp.dim * sizeof(float));
  }
  backend_->RmsNorm(last_.data(), w.output_norm, n_out, hp.dim, hp.norm_eps, last_.data());
  if (n_out > 0) backend_->MatMul(w.output, last_.data(), n_out, logits_.data());  // [n_out, n_vocab]
  return logits_.data();
}

}  // namespace kvs
