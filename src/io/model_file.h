// ModelFile: the format-neutral view of a Llama model file that the model
// loader uses: hyperparameters, vocabulary and named tensors.
//
// Formats: GGUF (detected by its magic) and llama2.c checkpoints (anything
// else). Tensors use GGUF/llama.cpp names and GGUF dims order whatever the
// format: token_embd.weight {dim, n_vocab}, output_norm.weight {dim},
// output.weight {dim, n_vocab} (absent when tied to token_embd),
// blk.N.{attn_norm,ffn_norm}.weight {dim}, blk.N.attn_q.weight {dim, dim},
// blk.N.attn_{k,v}.weight {dim, n_kv_heads * head_dim},
// blk.N.attn_output.weight {dim, dim}, blk.N.ffn_{gate,up}.weight
// {dim, hidden_dim}, blk.N.ffn_down.weight {hidden_dim, dim}. Open checks
// that every one of them is present with these dims, so the loader need not.
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
#include "io/llama_hparams.h"
#include "io/mapped_file.h"
#include "io/tensor_info.h"
#include "tokenizer/vocab.h"

namespace kvs {

class ModelFile {
 public:
  // `tokenizer_path`: a llama2.c tokenizer file; required for a llama2.c
  // checkpoint; for GGUF, when non-empty it overrides the file's vocabulary.
  // Fails when the vocabulary's size differs from the model's.
  static StatusOr<std::unique_ptr<ModelFile>> Open(const std::string& path,
                                                   const std::string& tokenizer_path);

  const LlamaHParams& hparams() const { return hparams_; }
  const Vocab& vocab() const { return vocab_; }
  const std::vector<TensorInfo>& tensors() const { return *tensors_; }
  const TensorInfo* FindTensor(std::string_view name) const;
  const GgufFile* gguf() const { return gguf_.get(); }  // null for llama2.c
  std::string format() const { return gguf_ ? "gguf" : "llama2c"; }
  const std::string& path() const { return path_; }
  // Drops [p, p + n) of the file's bytes from memory until they are read
  // again (MappedFile::DropPages); for tensors a backend has copied.
  void DropPages(const void* p, size_t n) const {
    if (gguf_) gguf_->DropPages(p, n);
    if (mapping_) mapping_->DropPages(p, n);
  }

 private:
  ModelFile() = default;
  Status Validate() const;

  std::string path_;
  std::unique_ptr<GgufFile> gguf_;           // GGUF: owns the bytes and the tensors
  std::unique_ptr<MappedFile> mapping_;      // llama2.c: owns the bytes
  std::vector<TensorInfo> llama2c_tensors_;  // llama2.c: the tensors
  const std::vector<TensorInfo>* tensors_ = nullptr;
  std::unordered_map<std::string_view, const TensorInfo*> by_name_;
  LlamaHParams hparams_;
  Vocab vocab_;
};

// Checks that `tensors` hold every tensor a Llama with `hp` needs, with the
// dims listed above; the error names the first offending tensor.
Status ValidateLlamaTensors(const LlamaHParams& hp,
                            const std::unordered_map<std::string_view, const TensorInfo*>& by_name);

}  // namespace kvs
