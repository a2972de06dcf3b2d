// Model: a loaded decoder-only transformer of any registered family
// (architecture.h): its configuration, weight views and tokenizer.
//
// Ownership: owns the ModelFile (its mapping backs every WeightMatrix), the
// WeightBinder's converted vectors and the Tokenizer. Immutable after Load:
// safe to share between threads.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"
#include "io/model_file.h"
#include "model/architecture.h"
#include "model/model_config.h"
#include "model/model_weights.h"
#include "model/weight_binder.h"
#include "tokenizer/tokenizer.h"

namespace kvs {

// Unset: the file says nothing (callers keep their own default).
struct SamplingDefaults {
  std::optional<float> temperature;
  std::optional<int> top_k;
  std::optional<float> top_p;
  std::optional<float> min_p;
  std::optional<float> repetition_penalty;
};

class Model {
 public:
  // model_path: a GGUF file, a llama2.c checkpoint or a Hugging Face folder
  // (hf_import.h). tokenizer_path: required for llama2.c checkpoints,
  // optional for GGUF (overrides the file's own vocabulary when given). The
  // family comes from general.architecture (llama2.c checkpoints are llama).
  static StatusOr<std::unique_ptr<Model>> Load(const std::string& model_path,
                                               const std::string& tokenizer_path);
  // The same from an open file (e.g. a GGUF file in memory).
  static StatusOr<std::unique_ptr<Model>> FromFile(std::unique_ptr<ModelFile> file);

  const ModelConfig& config() const { return config_; }
  const Architecture& architecture() const { return *arch_; }
  const ModelWeights& weights() const { return weights_; }
  const Tokenizer& tokenizer() const { return *tokenizer_; }
  const ModelFile& file() const { return *file_; }
  // The sampling values the file recommends (general.sampling.*, as
  // llama.cpp names them; a Hugging Face folder's generation_config.json).
  const SamplingDefaults& sampling_defaults() const { return sampling_defaults_; }
  int head_dim() const { return config_.head_dim; }
  int kv_dim() const { return config_.kv_dim(); }
  // Bytes of all weights (what one decode step reads).
  int64_t weight_bytes() const { return binder_->n_bytes(); }
  // Short description: "llama, 5 layers, dim 64, F32, 0.26M params".
  std::string Describe() const;

 private:
  Model() = default;

  std::unique_ptr<ModelFile> file_;
  const Architecture* arch_ = nullptr;
  ModelConfig config_;
  std::unique_ptr<WeightBinder> binder_;  // owns converted vectors
  ModelWeights weights_;
  std::unique_ptr<Tokenizer> tokenizer_;
  SamplingDefaults sampling_defaults_;
};

}  // namespace kvs
