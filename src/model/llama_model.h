// LlamaModel: a loaded Llama-architecture model: hyperparameters, weight
// views and the tokenizer. Llama 1/2/3 and TinyLlama-style models (RMSNorm,
// rotary embeddings, grouped-query attention, SwiGLU, tied or separate
// output matrix) from GGUF files or llama2.c checkpoints.
//
// Ownership: owns the ModelFile (its mapping backs every WeightMatrix) and
// the Tokenizer. Immutable after Load: safe to share between threads.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "base/status.h"
#include "io/model_file.h"
#include "tensor/tensor.h"
#include "tokenizer/tokenizer.h"

namespace kvs {

struct LlamaLayerWeights {
  const float* attn_norm = nullptr;  // [dim]
  WeightMatrix wq;                   // [n_heads * head_dim, dim]
  WeightMatrix wk;                   // [n_kv_heads * head_dim, dim]
  WeightMatrix wv;                   // [n_kv_heads * head_dim, dim]
  WeightMatrix wo;                   // [dim, n_heads * head_dim]
  const float* ffn_norm = nullptr;   // [dim]
  WeightMatrix w_gate;               // [hidden_dim, dim]
  WeightMatrix w_up;                 // [hidden_dim, dim]
  WeightMatrix w_down;               // [dim, hidden_dim]
};

struct LlamaWeights {
  WeightMatrix token_embd;            // [n_vocab, dim]
  std::vector<LlamaLayerWeights> layers;
  const float* output_norm = nullptr;  // [dim]
  WeightMatrix output;                 // [n_vocab, dim]; token_embd when tied
};

class LlamaModel {
 public:
  // tokenizer_path: required for llama2.c checkpoints, optional for GGUF
  // (overrides the file's own vocabulary when given).
  static StatusOr<std::unique_ptr<LlamaModel>> Load(const std::string& model_path,
                                                    const std::string& tokenizer_path);

  const LlamaHParams& hparams() const { return file_->hparams(); }
  const LlamaWeights& weights() const { return weights_; }
  const Tokenizer& tokenizer() const { return *tokenizer_; }
  const ModelFile& file() const { return *file_; }
  int head_dim() const { return hparams().dim / hparams().n_heads; }
  int kv_dim() const { return hparams().n_kv_heads * head_dim(); }
  // Bytes of all weights (what one decode step reads).
  int64_t weight_bytes() const { return weight_bytes_; }
  // Short description: "llama, 5 layers, dim 64, F32, 0.26M params".
  std::string Describe() const;

 private:
  LlamaModel() = default;
  Status BindWeights();

  std::unique_ptr<ModelFile> file_;
  std::unique_ptr<Tokenizer> tokenizer_;
  LlamaWeights weights_;
  // Norm vectors stored in a non-F32 type are converted once and kept here.
  std::vector<std::vector<float>> converted_norms_;
  int64_t weight_bytes_ = 0;
  int64_t n_params_ = 0;
};

}  // namespace kvs
