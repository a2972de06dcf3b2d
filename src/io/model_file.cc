#include "io/model_file.h"

#include <cstring>

#include "io/gguf_vocab.h"
#include "io/llama2c_reader.h"

namespace kvs {
StatusOr<std::unique_ptr<ModelFile>> ModelFile::Open(const std::string& path,
                                                     const std::string& tokenizer_path) {
  std::unique_ptr<ModelFile> m(new ModelFile());
  m->path_ = path;
  KVS_ASSIGN_OR_RETURN(auto mapping, MappedFile::Open(path));
  const bool is_gguf = mapping->size() >= 4 && std::memcmp(mapping->data(), "GGUF", 4) == 0;
  if (is_gguf) {
    mapping.reset();  // GgufFile maps the file itself
    KVS_ASSIGN_OR_RETURN(m->gguf_, GgufFile::Open(path));
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
    m->llama2c_header_ = ckpt.header;
    m->owned_tensors_ = std::move(ckpt.tensors);
    m->mapping_ = std::move(mapping);
    m->tensors_ = &m->owned_tensors_;
  }
  if (!tokenizer_path.empty()) {
    KVS_ASSIGN_OR_RETURN(m->vocab_, ReadLlama2cTokenizer(tokenizer_path));
  }
  m->IndexTensors();
  return m;
}

StatusOr<std::unique_ptr<ModelFile>> ModelFile::FromGguf(std::unique_ptr<GgufFile> gguf,
                                                         const std::string& name) {
  std::unique_ptr<ModelFile> m(new ModelFile());
  m->path_ = name;
  KVS_ASSIGN_OR_RETURN(m->vocab_, VocabFromGguf(*gguf));
  m->gguf_ = std::move(gguf);
  m->tensors_ = &m->gguf_->tensors();
  m->IndexTensors();
  return m;
}

StatusOr<std::unique_ptr<ModelFile>> ModelFile::FromHf(std::unique_ptr<HfFolder> folder,
                                                       std::unique_ptr<GgufFile> overlay) {
  std::unique_ptr<ModelFile> m(new ModelFile());
  m->path_ = folder->path();
  KVS_ASSIGN_OR_RETURN(m->vocab_, VocabFromGguf(*overlay));
  m->owned_tensors_ = overlay->tensors();
  for (const TensorInfo& t : folder->tensors()) {
    TensorInfo renamed = t;
    renamed.name = GgufTensorName(t.name);
    if (overlay->FindTensor(renamed.name) == nullptr) m->owned_tensors_.push_back(std::move(renamed));
  }
  m->tensors_ = &m->owned_tensors_;
  m->gguf_ = std::move(overlay);
  m->hf_ = std::move(folder);
  m->IndexTensors();
  return m;
}

void ModelFile::IndexTensors() {
  for (const TensorInfo& t : *tensors_) by_name_.emplace(t.name, &t);
}

const TensorInfo* ModelFile::FindTensor(std::string_view name) const {
  auto it = by_name_.find(name);
  return it == by_name_.end() ? nullptr : it->second;
}

}  // namespace kvs
