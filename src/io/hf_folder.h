// HfFolder: a Hugging Face model folder as the format sees it: config.json
// and the optional tokenizer.json, tokenizer_config.json and
// generation_config.json as parsed JSON, and the tensors of
// model.safetensors or of the shards that model.safetensors.index.json's
// weight_map names. What the keys mean is model/'s business (hf_import.h).
//
// Checks: config.json present and an object; every JSON document size- and
// depth-checked before parsing; each shard a valid safetensors file
// (safetensors_reader.h); every tensor of the weight_map present in the
// shard it names, no tensor in two shards, shard names plain file names
// inside the folder.
//
// Ownership: owns the shards' mappings; TensorInfo::data points into them
// for the HfFolder's lifetime. Thread-safety: immutable after Open.
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "base/status.h"
#include "io/safetensors_reader.h"
#include "io/tensor_info.h"

namespace kvs {

class HfFolder {
 public:
  static constexpr size_t kMaxJsonBytes = 256 << 20;  // tokenizer.json is ~10 MB
  static constexpr int kMaxJsonDepth = 64;

  // True when `path` is a directory (the caller then opens it as a folder).
  static bool IsFolder(const std::string& path);
  static StatusOr<std::unique_ptr<HfFolder>> Open(const std::string& dir);

  const std::string& path() const { return path_; }
  const nlohmann::json& config() const { return config_; }
  // Null when the folder has no such file.
  const nlohmann::json* tokenizer() const { return tokenizer_.is_null() ? nullptr : &tokenizer_; }
  const nlohmann::json* tokenizer_config() const {
    return tokenizer_config_.is_null() ? nullptr : &tokenizer_config_;
  }
  const nlohmann::json* generation_config() const {
    return generation_config_.is_null() ? nullptr : &generation_config_;
  }
  // Every shard's tensors, Hugging Face names, shard order then header order.
  const std::vector<TensorInfo>& tensors() const { return tensors_; }
  void DropPages(const void* p, size_t n) const {
    for (const auto& s : shards_) s->DropPages(p, n);
  }

 private:
  HfFolder() = default;

  std::string path_;
  nlohmann::json config_;
  nlohmann::json tokenizer_, tokenizer_config_, generation_config_;  // null: absent
  std::vector<std::unique_ptr<SafetensorsFile>> shards_;
  std::vector<TensorInfo> tensors_;
};

// The GGUF name of a tensor of a Llama-style Hugging Face checkpoint (the
// scheme Llama, Mistral, Qwen2 and Qwen3 share): "model.layers.3.mlp.up_proj.weight"
// -> "blk.3.ffn_up.weight". Names outside the scheme come back unchanged.
std::string GgufTensorName(const std::string& hf_name);
// The inverse: "blk.3.ffn_up.weight" -> "model.layers.3.mlp.up_proj.weight".
std::string HfTensorName(const std::string& gguf_name);

// Reads and parses a JSON file with the limits above. NotFound when absent.
StatusOr<nlohmann::json> ReadJsonFile(const std::string& path);

}  // namespace kvs
