// WeightBinder: looks up a model file's tensors by name for an
// Architecture, checks each one's shape against the hyperparameters, and
// counts bytes and parameters. Vectors (norms, biases) stored in a type
// other than F32 are converted once into storage the binder owns.
//
// Ownership: borrows the ModelFile (which must outlive every view handed
// out); owns the converted vectors, whose addresses stay valid while the
// binder lives (a std::deque never moves its elements).
#pragma once

#include <cstdint>
#include <deque>
#include <string>
#include <vector>

#include "base/status.h"
#include "io/model_file.h"
#include "tensor/tensor.h"

namespace kvs {

class WeightBinder {
 public:
  explicit WeightBinder(const ModelFile* file) : file_(file) {}

  // A matrix [rows, cols] (GGUF dims {cols, rows}). NotFound naming the
  // tensor when absent, InvalidArgument naming it and both shapes when its
  // dims differ.
  Status Matrix(const std::string& name, int64_t rows, int64_t cols, WeightMatrix* out);
  // A vector [n] as F32.
  Status Vector(const std::string& name, int64_t n, const float** out);
  // Like Vector, but an absent tensor leaves *out null and is not an error.
  Status OptionalVector(const std::string& name, int64_t n, const float** out);
  bool Has(const std::string& name) const { return file_->FindTensor(name) != nullptr; }

  int64_t n_bytes() const { return n_bytes_; }
  int64_t n_params() const { return n_params_; }

 private:
  const ModelFile* file_;
  std::deque<std::vector<float>> converted_;
  int64_t n_bytes_ = 0;
  int64_t n_params_ = 0;
};

// "blk.<layer>.<suffix>", the GGUF name of a per-layer tensor.
std::string LayerTensorName(int layer, const char* suffix);

}  // namespace kvs
