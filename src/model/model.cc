#include "model/model.h"

#include <algorithm>
#include <cstdio>

#include "model/hf_import.h"

namespace kvs {
namespace {

// A llama2.c checkpoint is a llama with run.c's fixed norm epsilon and rope
// base.
ModelConfig ConfigFromLlama2c(const Llama2cHeader& h) {
  ModelConfig c;
  c.arch = "llama";
  c.name = "llama2.c";
  c.n_vocab = h.vocab_size;
  c.dim = h.dim;
  c.hidden_dim = h.hidden_dim;
  c.n_layers = h.n_layers;
  c.n_heads = h.n_heads;
  c.n_kv_heads = h.n_kv_heads;
  c.head_dim = h.dim / h.n_heads;  // the reader checked divisibility
  c.context_length = h.seq_len;
  return c;
}

// general.sampling.*: present keys must hold sane values (a file is not
// trusted to set temperature -1).
StatusOr<SamplingDefaults> ReadSamplingDefaults(const GgufFile& f) {
  SamplingDefaults d;
  struct Key {
    const char* name;
    std::optional<float>* out;
    float lo, hi;
  };
  for (const Key& k : {Key{"general.sampling.temp", &d.temperature, 0, 2},
                       Key{"general.sampling.top_p", &d.top_p, 0, 1},
                       Key{"general.sampling.min_p", &d.min_p, 0, 1},
                       Key{"general.sampling.penalty_repeat", &d.repetition_penalty, 0, 10}}) {
    if (f.Find(k.name) == nullptr) continue;
    KVS_ASSIGN_OR_RETURN(const float v, f.GetF32(k.name));
    if (!(v >= k.lo && v <= k.hi)) {
      return InvalidArgumentError(f.name() + ": " + k.name + " = " + std::to_string(v) +
                                  " is outside [" + std::to_string(k.lo) + ", " +
                                  std::to_string(k.hi) + "]");
    }
    *k.out = v;
  }
  if (f.Find("general.sampling.top_k") != nullptr) {
    KVS_ASSIGN_OR_RETURN(const uint32_t k, f.GetU32("general.sampling.top_k"));
    d.top_k = static_cast<int>(std::min<uint32_t>(k, 1u << 30));
  }
  return d;
}

}  // namespace

StatusOr<std::unique_ptr<Model>> Model::Load(const std::string& model_path,
                                             const std::string& tokenizer_path) {
  if (HfFolder::IsFolder(model_path)) {
    if (!tokenizer_path.empty()) {
      return InvalidArgumentError(model_path + ": a Hugging Face folder brings its own tokenizer.json; "
                                  "--tokenizer is for llama2.c checkpoints");
    }
    KVS_ASSIGN_OR_RETURN(std::unique_ptr<HfFolder> folder, HfFolder::Open(model_path));
    KVS_ASSIGN_OR_RETURN(std::unique_ptr<GgufFile> overlay, ImportHfFolder(*folder));
    KVS_ASSIGN_OR_RETURN(std::unique_ptr<ModelFile> file,
                         ModelFile::FromHf(std::move(folder), std::move(overlay)));
    return FromFile(std::move(file));
  }
  KVS_ASSIGN_OR_RETURN(std::unique_ptr<ModelFile> file, ModelFile::Open(model_path, tokenizer_path));
  return FromFile(std::move(file));
}

StatusOr<std::unique_ptr<Model>> Model::FromFile(std::unique_ptr<ModelFile> file) {
  const std::string model_path = file->path();
  std::unique_ptr<Model> m(new Model());
  m->file_ = std::move(file);
  if (const GgufFile* gguf = m->file_->gguf()) {
    KVS_ASSIGN_OR_RETURN(std::string arch, gguf->GetString("general.architecture"));
    KVS_ASSIGN_OR_RETURN(m->arch_, FindArchitecture(arch));
    StatusOr<ModelConfig> config = m->arch_->ReadConfig(*gguf);
    if (!config.ok()) return config.status().WithContext(model_path);
    m->config_ = *std::move(config);
  } else {
    m->arch_ = &LlamaArchitecture();
    m->config_ = ConfigFromLlama2c(*m->file_->llama2c_header());
    KVS_RETURN_IF_ERROR(ValidateConfig(m->config_).WithContext(model_path));
  }
  if (const GgufFile* gguf = m->file_->gguf()) {
    KVS_ASSIGN_OR_RETURN(m->sampling_defaults_, ReadSamplingDefaults(*gguf));
  }
  m->binder_ = std::make_unique<WeightBinder>(m->file_.get());
  KVS_RETURN_IF_ERROR(
      m->arch_->BindWeights(m->config_, *m->binder_, &m->weights_).WithContext(model_path));
  KVS_ASSIGN_OR_RETURN(m->tokenizer_, Tokenizer::Create(m->file_->vocab()));
  if (m->tokenizer_->n_vocab() != m->config_.n_vocab) {
    return InvalidArgumentError(model_path + ": the tokenizer has " +
                                std::to_string(m->tokenizer_->n_vocab()) +
                                " tokens but the model's vocabulary is " +
                                std::to_string(m->config_.n_vocab));
  }
  return m;
}

std::string Model::Describe() const {
  const ModelConfig& c = config_;
  const DType type = weights_.layers.empty() ? DType::kF32 : weights_.layers[0].wq.type;
  char buf[256];
  std::snprintf(buf, sizeof(buf), "%s, %d layers, dim %d, %d heads (%d kv) of %d, vocab %d, %s, %.2fM params",
                c.arch.c_str(), c.n_layers, c.dim, c.n_heads, c.n_kv_heads, c.head_dim,
                c.n_vocab, std::string(DTypeName(type)).c_str(), binder_->n_params() / 1e6);
  return buf;
}

}  // namespace kvs
