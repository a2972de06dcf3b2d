// The shapes `kvserve make-model` writes: real models' hyperparameters
// (random weights at their sizes, for benchmarks and for comparing with
// llama.cpp on the same file) and small test shapes of each family.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "model/model_config.h"

namespace kvs::tools {

// Llama 3.1's rope_scaling ("rope_type": "llama3") in config.json; the
// converter turns it into rope_freqs.weight (LlamaRopeFreqs).
struct Llama3RopeScaling {
  float factor = 0;  // 0: none
  float low_freq_factor = 1;
  float high_freq_factor = 4;
  int original_context = 8192;
};

struct ModelShape {
  std::string name;  // "qwen3-0.6b"
  ModelConfig config;  // n_vocab 0: the vocabulary's own size
  bool tied_output = false;
  Llama3RopeScaling rope_scaling;
};

const std::vector<ModelShape>& ModelShapes();
// Null when unknown.
const ModelShape* FindModelShape(std::string_view name);
std::string ModelShapeNames();  // "tinyllama, llama3.2-1b, ..."

// [head_dim / 2] frequency divisors, as llama.cpp's converter computes
// them from a llama3 rope_scaling block.
std::vector<float> LlamaRopeFreqs(const Llama3RopeScaling& s, int head_dim, float freq_base);

}  // namespace kvs::tools
