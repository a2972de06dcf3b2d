#include "io/model_file.h"

#include <cstring>

#include "io/gguf_llama.h"
#include "io/llama2c_reader.h"

namespace kvs {
namespace {

std::string DimsString(const std::vector<int64_t>& dims) {
  std::string s = "{";
  for (size_t i = 0; i < dims.size(); ++i) s += (i ? ", " : "") + std::to_string(dims[i]);
  return s + "}";
}

}  // namespace

Status ValidateLlamaTensors(const LlamaHParams& hp,
                            const std::unordered_map<std::string_view, const TensorInfo*>& by_name) {
  if (hp.dim <= 0 || hp.n_heads <= 0 || hp.n_kv_heads <= 0 || hp.n_layers <= 0 ||
      hp.hidden_dim <= 0 || hp.n_vocab <= 0 || hp.dim % hp.n_heads != 0 ||
      hp.n_heads % hp.n_kv_heads != 0 || hp.head_dim() % 2 != 0) {
    return InvalidArgumentError(
        "inconsistent hyperparameters: dim " + std::to_string(hp.dim) + ", n_heads " +
        std::to_string(hp.n_heads) + ", n_kv_heads " + std::to_string(hp.n_kv_heads) +
        ", n_layers " + std::to_string(hp.n_layers) + ", hidden_dim " +
        std::to_string(hp.hidden_dim) + ", n_vocab " + std::to_string(hp.n_vocab) +
        " (dim must split into an even head_dim, n_heads into kv groups)");
  }
  const int64_t dim = hp.dim, hidden = hp.hidden_dim, vocab = hp.n_vocab;
  const int64_t kv_dim = static_cast<int64_t>(hp.n_kv_heads) * hp.head_dim();
  auto check = [&](const std::string& name, std::vector<int64_t> want, bool optional) -> Status {
    auto it = by_name.find(name);
    if (it == by_name.end()) {
      return optional ? Status::Ok() : NotFoundError("missing tensor '" + name + "'");
    }
    if (it->second->dims != want) {
      return InvalidArgumentError("tensor '" + name + "' has dims " +
                                  DimsString(it->second->dims) + ", expected " +
                                  DimsString(want) + " from the hyperparameters");
    }
    return Status::Ok();
  };
  KVS_RETURN_IF_ERROR(check("token_embd.weight", {dim, vocab}, false));
  KVS_RETURN_IF_ERROR(check("output_norm.weight", {dim}, false));
  KVS_RETURN_IF_ERROR(check("output.weight", {dim, vocab}, true));
  for (int l = 0; l < hp.n_layers; ++l) {
    const std::string p = "blk." + std::to_string(l) + ".";
    KVS_RETURN_IF_ERROR(check(p + "attn_norm.weight", {dim}, false));
    KVS_RETURN_IF_ERROR(check(p + "attn_q.weight", {dim, dim}, false));
    KVS_RETURN_IF_ERROR(check(p + "attn_k.weight", {dim, kv_dim}, false));
    KVS_RETURN_IF_ERROR(check(p + "attn_v.weight", {dim, kv_dim}, false));
    KVS_RETURN_IF_ERROR(check(p + "attn_output.weight", {dim, dim}, false));
    KVS_RETURN_IF_ERROR(check(p + "ffn_norm.weight", {dim}, false));
    KVS_RETURN_IF_ERROR(check(p + "ffn_gate.weight", {dim, hidden}, false));
    KVS_RETURN_IF_ERROR(check(p + "ffn_down.weight", {hidden, dim}, false));
    KVS_RETURN_IF_ERROR(check(p + "ffn_up.weight", {dim, hidden}, false));
  }
  return Status::Ok();
}

StatusOr<std::unique_ptr<ModelFile>> ModelFile::Open(const std::string& path,
                                                     const std::string& tokenizer_path) {
  std::unique_ptr<ModelFile> m(new ModelFile());
  m->path_ = path;
  KVS_ASSIGN_OR_RETURN(auto mapping, MappedFile::Open(path));
  const bool is_gguf = mapping->size() >= 4 && std::memcmp(mapping->data(), "GGUF", 4) == 0;
  if (is_gguf) {
    mapping.reset();  // GgufFile maps the file itself
    KVS_ASSIGN_OR_RETURN(m->gguf_, GgufFile::Open(path));
    KVS_ASSIGN_OR_RETURN(m->hparams_, LlamaHParamsFromGguf(*m->gguf_));
    if (tokenizer_path.empty()) {
      KVS_ASSIGN_OR_RETURN(m->vocab_, VocabFromGguf(*m->gguf_));
    }
    m->tensors_ = &m->gguf_->tensors();
  } else {
    if (tokenizer_path.empty()) {
      return InvalidArgumentError("'" + path +
                                  "' is not GGUF, so it is read as a llama2.c checkpoint, which "
                                  "needs a tokenizer file (--tokenizer)");
    }
    KVS_ASSIGN_OR_RETURN(Llama2cCheckpoint ckpt, ReadLlama2cCheckpoint(*mapping));
    m->hparams_ = std::move(ckpt.hparams);
    m->llama2c_tensors_ = std::move(ckpt.tensors);
    m->mapping_ = std::move(mapping);
    m->tensors_ = &m->llama2c_tensors_;
  }
  if (!tokenizer_path.empty()) {
    KVS_ASSIGN_OR_RETURN(m->vocab_, ReadLlama2cTokenizer(tokenizer_path));
  }
  for (const TensorInfo& t : *m->tensors_) m->by_name_.emplace(t.name, &t);
  KVS_RETURN_IF_ERROR(m->Validate());
  return m;
}

Status ModelFile::Validate() const {
  KVS_RETURN_IF_ERROR(ValidateLlamaTensors(hparams_, by_name_).WithContext("model '" + path_ + "'"));
  if (vocab_.pieces.size() != static_cast<size_t>(hparams_.n_vocab)) {
    return InvalidArgumentError("model '" + path_ + "' has a vocabulary of " +
                                std::to_string(hparams_.n_vocab) + " but its tokenizer has " +
                                std::to_string(vocab_.pieces.size()) + " tokens");
  }
  return Status::Ok();
}

const TensorInfo* ModelFile::FindTensor(std::string_view name) const {
  auto it = by_name_.find(name);
  return it == by_name_.end() ? nullptr : it->second;
}

}  // namespace kvs
