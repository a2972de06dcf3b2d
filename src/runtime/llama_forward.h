// LlamaForward: one forward pass of the Llama architecture over a flattened
// Batch, reading and writing the paged KV cache. This is the one readable
// description of the model's arithmetic; every op runs on the Backend.
//
// Ownership: borrows the model, backend and KV storage; owns the weight
// matrices the backend copied or repacked for itself (PrepareWeights, once,
// in the constructor) and scratch
// activations sized for the largest batch seen (grown only when a batch is
// larger than any before, so the steady-state step does not allocate).
// Thread-safety: one caller at a time.
#pragma once

#include <vector>

#include "backend/backend.h"
#include "model/llama_model.h"
#include "runtime/batch.h"
#include "runtime/kv_storage.h"

namespace kvs {

class LlamaForward {
 public:
  LlamaForward(const LlamaModel* model, Backend* backend, KvStorage* kv);

  // Runs the batch; returns [batch.n_logit_rows(), n_vocab] logits, valid
  // until the next call. REQUIRES: every row's block table covers its
  // position, and positions < context length.
  const float* Run(Batch& batch);

 private:
  void Reserve(int64_t n_tokens, int64_t n_logit_rows);

  const LlamaModel* model_;
  Backend* backend_;
  KvStorage* kv_;
  // The model's weights with every MatMul matrix as the backend prepared it
  // (token_embd stays the file's view: GetRows reads it).
  LlamaWeights weights_;
  PreparedWeights prepared_;  // owns the backend's copies

  std::vector<float> x_;       // [n, dim] residual stream
  std::vector<float> xb_;      // [n, dim] normed input / sublayer output
  std::vector<float> q_;       // [n, n_heads, head_dim]
  std::vector<float> k_;       // [n, n_kv_heads, head_dim]
  std::vector<float> v_;       // [n, n_kv_heads, head_dim]
  std::vector<float> att_;     // [n, n_heads, head_dim]
  std::vector<float> gate_;    // [n, hidden_dim]
  std::vector<float> up_;      // [n, hidden_dim]
  std::vector<float> last_;    // [n_logit_rows, dim]
  std::vector<float> logits_;  // [n_logit_rows, n_vocab]
};

}  // namespace kvs
