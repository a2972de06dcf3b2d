// Llama 3.1's rope scaling: config.json's "rope_scaling" block with
// "rope_type": "llama3" becomes, in GGUF, a rope_freqs.weight vector of
// per-frequency divisors (llama.cpp's converter computes them the same way).
#pragma once

#include <vector>

namespace kvs {

// Llama 3.1's rope_scaling ("rope_type": "llama3") in config.json; the
// converter turns it into rope_freqs.weight (LlamaRopeFreqs).
struct Llama3RopeScaling {
  float factor = 0;  // 0: none
  float low_freq_factor = 1;
  float high_freq_factor = 4;
  int original_context = 8192;
};

// [head_dim / 2] frequency divisors for rope_freqs.weight.
std::vector<float> LlamaRopeFreqs(const Llama3RopeScaling& s, int head_dim, float freq_base);

}  // namespace kvs
