#include "tools/hf_export.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <vector>

#include "io/hf_folder.h"
#include "io/safetensors_writer.h"
#include "model/hf_import.h"

namespace kvs::tools {
namespace {

using Json = nlohmann::ordered_json;

Status WriteText(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
  out.close();
  return out ? Status::Ok() : IoError("cannot write '" + path + "'");
}

Json ConfigJson(const ModelShape& shape, const ModelConfig& c, DType type) {
  const char* cls = c.arch == "qwen2" ? "Qwen2ForCausalLM"
                    : c.arch == "qwen3" ? "Qwen3ForCausalLM"
                                        : "LlamaForCausalLM";
  Json j;
  j["architectures"] = {cls};
  j["model_type"] = c.arch;
  j["hidden_size"] = c.dim;
  j["intermediate_size"] = c.hidden_dim;
  j["num_hidden_layers"] = c.n_layers;
  j["num_attention_heads"] = c.n_heads;
  j["num_key_value_heads"] = c.n_kv_heads;
  j["head_dim"] = c.head_dim;
  j["max_position_embeddings"] = c.context_length;
  j["rms_norm_eps"] = c.norm_eps;
  j["rope_theta"] = c.rope_freq_base;
  j["vocab_size"] = c.n_vocab;
  j["tie_word_embeddings"] = shape.tied_output;
  j["hidden_act"] = "silu";
  j["torch_dtype"] = type == DType::kF32 ? "float32" : type == DType::kF16 ? "float16" : "bfloat16";
  if (c.arch == "qwen2") j["attention_bias"] = true;
  if (shape.rope_scaling.factor > 0) {
    j["rope_scaling"] = {{"rope_type", "llama3"},
                         {"factor", shape.rope_scaling.factor},
                         {"low_freq_factor", shape.rope_scaling.low_freq_factor},
                         {"high_freq_factor", shape.rope_scaling.high_freq_factor},
                         {"original_max_position_embeddings", shape.rope_scaling.original_context}};
  }
  return j;
}

}  // namespace

Status ExportHfFolder(const GgufFile& gguf, const ModelShape& shape, const ModelConfig& c,
                      const std::string& vocab_dir, const std::string& chat_template,
                      const std::string& out_dir) {
  if (mkdir(out_dir.c_str(), 0755) != 0 && errno != EEXIST) {
    return IoError("cannot create '" + out_dir + "': " + std::strerror(errno));
  }
  // Tensors: every one but rope_freqs, Hugging Face names, Q/K unpermuted.
  SafetensorsWriter st;
  std::vector<const TensorInfo*> order;
  DType matrix_type = DType::kF32;
  for (const TensorInfo& t : gguf.tensors()) {
    if (t.name == "rope_freqs.weight") continue;
    KVS_RETURN_IF_ERROR(st.AddTensor(HfTensorName(t.name), t.type, t.dims));
    if (t.dims.size() == 2) matrix_type = t.type;
    order.push_back(&t);
  }
  st.SetMetadata("format", "pt");
  KVS_RETURN_IF_ERROR(st.WriteFile(out_dir + "/model.safetensors", [&](size_t i, TensorSink& sink) {
    const TensorInfo& t = *order[i];
    const bool q = t.name.find(".attn_q.") != std::string::npos;
    const bool k = t.name.find(".attn_k.") != std::string::npos;
    if (c.arch != "llama" || (!q && !k)) return sink.Write(t.data, t.n_bytes);
    const int64_t rows = t.dims.size() == 2 ? t.dims[1] : t.dims[0];
    std::vector<uint8_t> out(t.n_bytes);
    UnpermuteRotaryRows(static_cast<const uint8_t*>(t.data), out.data(), rows,
                        static_cast<int64_t>(t.n_bytes) / rows, q ? c.n_heads : c.n_kv_heads);
    return sink.Write(out.data(), out.size());
  }));
  KVS_RETURN_IF_ERROR(
      WriteText(out_dir + "/config.json", ConfigJson(shape, c, matrix_type).dump(2) + "\n"));

  // The vocabulary folder's tokenizer files: copied byte for byte, but for
  // a chat template that replaces tokenizer_config.json's.
  for (const char* name : {"tokenizer.json", "tokenizer_config.json", "generation_config.json"}) {
    const std::string from = vocab_dir + "/" + name;
    const std::string to = out_dir + "/" + name;
    const bool is_config = std::string(name) == "tokenizer_config.json";
    if (is_config && !chat_template.empty()) {
      StatusOr<nlohmann::json> doc = ReadJsonFile(from);
      if (!doc.ok() && doc.status().code() != StatusCode::kNotFound) return doc.status();
      nlohmann::json config = doc.ok() ? *std::move(doc) : nlohmann::json::object();
      config["chat_template"] = chat_template;
      KVS_RETURN_IF_ERROR(WriteText(to, config.dump(2) + "\n"));
      continue;
    }
    std::ifstream in(from, std::ios::binary);
    if (!in) {
      if (std::string(name) == "tokenizer.json") return NotFoundError(vocab_dir + ": no tokenizer.json");
      continue;
    }
    std::ofstream out(to, std::ios::binary);
    out << in.rdbuf();
    if (!out) return IoError("cannot write '" + to + "'");
  }
  return Status::Ok();
}

}  // namespace kvs::tools
