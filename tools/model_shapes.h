// The shapes `kvserve make-model` writes: real models' hyperparameters
// (random weights at their sizes, for benchmarks and for comparing with
// llama.cpp on the same file) and small test shapes of each family.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "model/model_config.h"
#include "model/rope_scaling.h"

namespace kvs::tools {


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


}  // namespace kvs::tools
