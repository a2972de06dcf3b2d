// LlamaHParams: the hyperparameters of a Llama-architecture model, whatever
// file format they came from.
#pragma once

#include <string>

namespace kvs {

struct LlamaHParams {
  std::string arch = "llama";
  std::string name;
  int n_vocab = 0;
  int dim = 0;         // embedding width
  int hidden_dim = 0;  // FFN inner width
  int n_layers = 0;
  int n_heads = 0;
  int n_kv_heads = 0;  // < n_heads for grouped-query attention
  int context_length = 0;
  float norm_eps = 1e-5f;
  float rope_freq_base = 10000.f;

  int head_dim() const { return dim / n_heads; }
};

}  // namespace kvs
