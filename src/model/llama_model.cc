#include "model/llama_model.h"

#include <cstdio>

#include "tensor/quant.h"

namespace kvs {
namespace {

std::string LayerName(int layer, const char* suffix) {
  return "blk." + std::to_string(layer) + "." + suffix;
}

}  // namespace

StatusOr<std::unique_ptr<LlamaModel>> LlamaModel::Load(const std::string& model_path,
                                                       const std::string& tokenizer_path) {
  std::unique_ptr<LlamaModel> model(new LlamaModel());
  KVS_ASSIGN_OR_RETURN(model->file_, ModelFile::Open(model_path, tokenizer_path));
  const LlamaHParams& hp = model->file_->hparams();
  if (hp.arch != "llama") {
    return InvalidArgumentError(model_path + ": architecture '" + hp.arch +
                                "' is not supported (llama only)");
  }
  if (hp.dim <= 0 || hp.n_heads <= 0 || hp.n_kv_heads <= 0 || hp.n_layers <= 0 ||
      hp.dim % hp.n_heads != 0 || hp.n_heads % hp.n_kv_heads != 0 || (hp.dim / hp.n_heads) % 2) {
    return InvalidArgumentError(model_path + ": inconsistent hyperparameters (dim " +
                                std::to_string(hp.dim) + ", heads " +
                                std::to_string(hp.n_heads) + ", kv heads " +
                                std::to_string(hp.n_kv_heads) + ")");
  }
  KVS_RETURN_IF_ERROR(model->BindWeights().WithContext(model_path));
  KVS_ASSIGN_OR_RETURN(model->tokenizer_, Tokenizer::Create(model->file_->vocab()));
  if (model->tokenizer_->n_vocab() != hp.n_vocab) {
    return InvalidArgumentError(model_path + ": tokenizer has " +
                                std::to_string(model->tokenizer_->n_vocab()) +
                                " tokens but the model's vocabulary is " +
                                std::to_string(hp.n_vocab));
  }
  return model;
}

Status LlamaModel::BindWeights() {
  const LlamaHParams& hp = file_->hparams();
  const int64_t head_dim = hp.dim / hp.n_heads;
  const int64_t kv_dim = hp.n_kv_heads * head_dim;

  // A matrix [rows, cols]: GGUF dims {cols, rows}.
  auto matrix = [&](const std::string& name, int64_t rows, int64_t cols,
                    WeightMatrix* out) -> Status {
    const TensorInfo* t = file_->FindTensor(name);
    if (t == nullptr) return NotFoundError("missing tensor " + name);
    if (t->dims.size() != 2 || t->dims[0] != cols || t->dims[1] != rows) {
      return InvalidArgumentError("tensor " + name + " has the wrong shape (want [" +
                                  std::to_string(rows) + ", " + std::to_string(cols) + "])");
    }
    *out = WeightMatrix{t->type, rows, cols, t->data};
    weight_bytes_ += static_cast<int64_t>(t->n_bytes);
    n_params_ += rows * cols;
    return Status::Ok();
  };
  auto vector = [&](const std::string& name, int64_t n, const float** out) -> Status {
    const TensorInfo* t = file_->FindTensor(name);
    if (t == nullptr) return NotFoundError("missing tensor " + name);
    if (t->dims.size() != 1 || t->dims[0] != n) {
      return InvalidArgumentError("tensor " + name + " has the wrong shape (want [" +
                                  std::to_string(n) + "])");
    }
    weight_bytes_ += static_cast<int64_t>(t->n_bytes);
    n_params_ += n;
    if (t->type == DType::kF32) {
      *out = static_cast<const float*>(t->data);
    } else {
      auto& v = converted_norms_.emplace_back(n);
      DequantizeRow(t->type, t->data, v.data(), n);
      *out = v.data();
    }
    return Status::Ok();
  };

  converted_norms_.reserve(2 * hp.n_layers + 1);  // keeps data() pointers stable
  KVS_RETURN_IF_ERROR(matrix("token_embd.weight", hp.n_vocab, hp.dim, &weights_.token_embd));
  weights_.layers.resize(hp.n_layers);
  for (int l = 0; l < hp.n_layers; ++l) {
    LlamaLayerWeights& w = weights_.layers[l];
    KVS_RETURN_IF_ERROR(vector(LayerName(l, "attn_norm.weight"), hp.dim, &w.attn_norm));
    KVS_RETURN_IF_ERROR(matrix(LayerName(l, "attn_q.weight"), hp.dim, hp.dim, &w.wq));
    KVS_RETURN_IF_ERROR(matrix(LayerName(l, "attn_k.weight"), kv_dim, hp.dim, &w.wk));
    KVS_RETURN_IF_ERROR(matrix(LayerName(l, "attn_v.weight"), kv_dim, hp.dim, &w.wv));
    KVS_RETURN_IF_ERROR(matrix(LayerName(l, "attn_output.weight"), hp.dim, hp.dim, &w.wo));
    KVS_RETURN_IF_ERROR(vector(LayerName(l, "ffn_norm.weight"), hp.dim, &w.ffn_norm));
    KVS_RETURN_IF_ERROR(
        matrix(LayerName(l, "ffn_gate.weight"), hp.hidden_dim, hp.dim, &w.w_gate));
    KVS_RETURN_IF_ERROR(matrix(LayerName(l, "ffn_up.weight"), hp.hidden_dim, hp.dim, &w.w_up));
    KVS_RETURN_IF_ERROR(
        matrix(LayerName(l, "ffn_down.weight"), hp.dim, hp.hidden_dim, &w.w_down));
  }
  KVS_RETURN_IF_ERROR(vector("output_norm.weight", hp.dim, &weights_.output_norm));
  if (file_->FindTensor("output.weight") != nullptr) {
    KVS_RETURN_IF_ERROR(matrix("output.weight", hp.n_vocab, hp.dim, &weights_.output));
  } else {
    weights_.output = weights_.token_embd;  // tied classifier
  }
  return Status::Ok();
}

std::string LlamaModel::Describe() const {
  const LlamaHParams& hp = hparams();
  char buf[256];
  std::snprintf(buf, sizeof(buf), "%s, %d layers, dim %d, %d heads (%d kv), vocab %d, %s, %.2fM params",
                hp.arch.c_str(), hp.n_layers, hp.dim, hp.n_heads, hp.n_kv_heads, hp.n_vocab,
                std::string(DTypeName(weights_.layers.empty() ? DType::kF32
                                                              : weights_.layers[0].wq.type))
                    .c_str(),
                n_params_ / 1e6);
  return buf;
}

}  // namespace kvs
