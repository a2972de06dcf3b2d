// ModelFile: the format-neutral view of a model file that the model loader
// uses: named tensors, the vocabulary, and the format's own metadata (the
// GGUF key/value pairs, or a llama2.c checkpoint's header). It knows no
// architecture: which tensors a family needs and what the metadata means is
// model/'s business (model/architecture.h).
//
// Formats: GGUF (detected by its magic) and llama2.c checkpoints (anything
// else). Tensors use GGUF/llama.cpp names and GGUF dims order whatever the
// format (a llama2.c checkpoint's tensors are renamed on reading).
//
// Ownership: owns the file mapping; TensorInfo::data points into it and is
// valid for the ModelFile's lifetime. Thread-safety: immutable after Open.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "base/status.h"
#include "io/gguf_reader.h"
#include "io/hf_folder.h"
#include "io/llama2c_reader.h"
#include "io/mapped_file.h"
#include "io/tensor_info.h"
#include "tokenizer/vocab.h"

namespace kvs {

class ModelFile {
 public:
  // `tokenizer_path`: a llama2.c tokenizer file; required for a llama2.c
  // checkpoint; for GGUF, when non-empty it overrides the file's vocabulary.
  static StatusOr<std::unique_ptr<ModelFile>> Open(const std::string& path,
                                                   const std::string& tokenizer_path);

  // A GGUF file already open (e.g. from memory); `name` stands in for the
  // path in messages.
  static StatusOr<std::unique_ptr<ModelFile>> FromGguf(std::unique_ptr<GgufFile> gguf,
                                                       const std::string& name);
  // A Hugging Face folder, seen through `overlay`: GGUF metadata (and the
  // vocabulary) made from its config and tokenizer files, and tensors that
  // replace or add to the folder's (model/hf_import.h makes it). The
  // folder's tensors get GGUF names (GgufTensorName).
  static StatusOr<std::unique_ptr<ModelFile>> FromHf(std::unique_ptr<HfFolder> folder,
                                                     std::unique_ptr<GgufFile> overlay);

  const Vocab& vocab() const { return vocab_; }
  const std::vector<TensorInfo>& tensors() const { return *tensors_; }
  const TensorInfo* FindTensor(std::string_view name) const;
  // The metadata: the file itself for GGUF, the overlay for HF; null for llama2.c.
  const GgufFile* gguf() const { return gguf_.get(); }
  // The checkpoint's header; null for GGUF.
  const Llama2cHeader* llama2c_header() const { return gguf_ ? nullptr : &llama2c_header_; }
  std::string format() const { return hf_ ? "hf" : gguf_ ? "gguf" : "llama2c"; }
  const std::string& path() const { return path_; }
  // Drops [p, p + n) of the file's bytes from memory until they are read
  // again (MappedFile::DropPages); for tensors a backend has copied.
  void DropPages(const void* p, size_t n) const {
    if (gguf_) gguf_->DropPages(p, n);
    if (mapping_) mapping_->DropPages(p, n);
    if (hf_) hf_->DropPages(p, n);
  }

 private:
  ModelFile() = default;
  void IndexTensors();  // fills by_name_ from tensors_

  std::string path_;
  std::unique_ptr<GgufFile> gguf_;           // GGUF: owns the bytes and the tensors
                                             // (HF: the overlay)
  std::unique_ptr<HfFolder> hf_;             // HF: owns the shards
  std::unique_ptr<MappedFile> mapping_;      // llama2.c: owns the bytes
  std::vector<TensorInfo> owned_tensors_;    // llama2.c, HF: the tensors
  const std::vector<TensorInfo>* tensors_ = nullptr;
  std::unordered_map<std::string_view, const TensorInfo*> by_name_;
  Llama2cHeader llama2c_header_;
  Vocab vocab_;
};

}  // namespace kvs
