// ModelWeights: views of one decoder-only transformer's weights. Matrices
// are WeightMatrix views into the model file (or a backend's copy); vectors
// are F32. Optional tensors are null (vectors) or have rows == 0 (matrices)
// when the family has none: qwen2's Q/K/V biases, qwen3's per-head Q/K
// norms, Llama 3.1's rope frequency divisors.
#pragma once

#include <vector>

#include "tensor/tensor.h"

namespace kvs {

struct LayerWeights {
  const float* attn_norm = nullptr;  // [dim]
  WeightMatrix wq;                   // [n_heads * head_dim, dim]
  WeightMatrix wk;                   // [n_kv_heads * head_dim, dim]
  WeightMatrix wv;                   // [n_kv_heads * head_dim, dim]
  const float* q_bias = nullptr;     // [n_heads * head_dim] (qwen2)
  const float* k_bias = nullptr;     // [n_kv_heads * head_dim] (qwen2)
  const float* v_bias = nullptr;     // [n_kv_heads * head_dim] (qwen2)
  const float* q_norm = nullptr;     // [head_dim], RMSNorm of each q head (qwen3)
  const float* k_norm = nullptr;     // [head_dim], RMSNorm of each k head (qwen3)
  WeightMatrix wo;                   // [dim, n_heads * head_dim]
  const float* ffn_norm = nullptr;   // [dim]
  WeightMatrix w_gate;               // [hidden_dim, dim]
  WeightMatrix w_up;                 // [hidden_dim, dim]
  WeightMatrix w_down;               // [dim, hidden_dim]
};

struct ModelWeights {
  WeightMatrix token_embd;  // [n_vocab, dim]
  std::vector<LayerWeights> layers;
  const float* output_norm = nullptr;   // [dim]
  WeightMatrix output;                  // [n_vocab, dim]; token_embd when tied
  const float* rope_freqs = nullptr;    // [head_dim / 2] frequency divisors, or null
};

}  // namespace kvs
