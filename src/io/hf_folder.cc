#include "io/hf_folder.h"

#include <sys/stat.h>

#include <fstream>
#include <map>
#include <set>

namespace kvs {

bool HfFolder::IsFolder(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

StatusOr<nlohmann::json> ReadJsonFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) return NotFoundError(path + ": cannot open");
  const std::streamoff size = in.tellg();
  if (size < 0 || static_cast<uint64_t>(size) > HfFolder::kMaxJsonBytes) {
    return InvalidArgumentError(path + ": " + std::to_string(size) + " bytes, over the limit of " +
                                std::to_string(HfFolder::kMaxJsonBytes));
  }
  std::string text(static_cast<size_t>(size), '\0');
  in.seekg(0);
  in.read(text.data(), size);
  if (!in) return IoError(path + ": read failed");
  if (JsonNestingDepth(text, HfFolder::kMaxJsonDepth) > HfFolder::kMaxJsonDepth) {
    return InvalidArgumentError(path + ": JSON nested deeper than " +
                                std::to_string(HfFolder::kMaxJsonDepth));
  }
  nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return InvalidArgumentError(path + ": not valid JSON");
  return j;
}

namespace {

// Hugging Face <-> GGUF names of a Llama-style checkpoint's tensors.
constexpr std::pair<const char*, const char*> kGlobalNames[] = {
    {"model.embed_tokens.weight", "token_embd.weight"},
    {"model.norm.weight", "output_norm.weight"},
    {"lm_head.weight", "output.weight"},
};
constexpr std::pair<const char*, const char*> kLayerNames[] = {
    {"input_layernorm.weight", "attn_norm.weight"},
    {"post_attention_layernorm.weight", "ffn_norm.weight"},
    {"self_attn.q_proj.weight", "attn_q.weight"},
    {"self_attn.k_proj.weight", "attn_k.weight"},
    {"self_attn.v_proj.weight", "attn_v.weight"},
    {"self_attn.q_proj.bias", "attn_q.bias"},
    {"self_attn.k_proj.bias", "attn_k.bias"},
    {"self_attn.v_proj.bias", "attn_v.bias"},
    {"self_attn.o_proj.weight", "attn_output.weight"},
    {"self_attn.q_norm.weight", "attn_q_norm.weight"},
    {"self_attn.k_norm.weight", "attn_k_norm.weight"},
    {"mlp.gate_proj.weight", "ffn_gate.weight"},
    {"mlp.up_proj.weight", "ffn_up.weight"},
    {"mlp.down_proj.weight", "ffn_down.weight"},
};

// Maps "<prefix><layer>.<suffix>" through kLayerNames (from: the pair's
// first member when to_gguf, else its second); "" when it does not fit.
std::string MapLayerName(const std::string& name, const std::string& prefix,
                         const std::string& out_prefix, bool to_gguf) {
  if (name.compare(0, prefix.size(), prefix) != 0) return "";
  const size_t dot = name.find('.', prefix.size());
  if (dot == std::string::npos || dot == prefix.size() || dot - prefix.size() > 6) return "";
  const std::string layer = name.substr(prefix.size(), dot - prefix.size());
  if (layer.find_first_not_of("0123456789") != std::string::npos) return "";
  const std::string rest = name.substr(dot + 1);
  for (const auto& [hf, gguf] : kLayerNames) {
    if (rest == (to_gguf ? hf : gguf)) {
      return out_prefix + std::to_string(std::stoi(layer)) + "." + (to_gguf ? gguf : hf);
    }
  }
  return "";
}

}  // namespace

std::string GgufTensorName(const std::string& hf) {
  for (const auto& [from, to] : kGlobalNames) {
    if (hf == from) return to;
  }
  const std::string mapped = MapLayerName(hf, "model.layers.", "blk.", /*to_gguf=*/true);
  return mapped.empty() ? hf : mapped;
}

std::string HfTensorName(const std::string& gguf) {
  for (const auto& [to, from] : kGlobalNames) {
    if (gguf == from) return to;
  }
  const std::string mapped = MapLayerName(gguf, "blk.", "model.layers.", /*to_gguf=*/false);
  return mapped.empty() ? gguf : mapped;
}

namespace {

// Optional documents: absent is fine, broken is an error.
Status ReadOptional(const std::string& path, nlohmann::json* out) {
  StatusOr<nlohmann::json> j = ReadJsonFile(path);
  if (!j.ok()) return j.status().code() == StatusCode::kNotFound ? Status::Ok() : j.status();
  if (!j->is_object()) return InvalidArgumentError(path + ": not a JSON object");
  *out = *std::move(j);
  return Status::Ok();
}

bool PlainFileName(const std::string& name) {
  return !name.empty() && name.find('/') == std::string::npos && name != "." && name != "..";
}

}  // namespace

StatusOr<std::unique_ptr<HfFolder>> HfFolder::Open(const std::string& dir) {
  std::unique_ptr<HfFolder> f(new HfFolder());
  f->path_ = dir;
  const std::string base = dir + "/";
  StatusOr<nlohmann::json> config = ReadJsonFile(base + "config.json");
  if (!config.ok()) {
    return config.status().code() == StatusCode::kNotFound
               ? NotFoundError(dir + ": no config.json (is it a Hugging Face model folder?)")
               : config.status();
  }
  if (!config->is_object()) return InvalidArgumentError(base + "config.json: not a JSON object");
  f->config_ = *std::move(config);
  KVS_RETURN_IF_ERROR(ReadOptional(base + "tokenizer.json", &f->tokenizer_));
  KVS_RETURN_IF_ERROR(ReadOptional(base + "tokenizer_config.json", &f->tokenizer_config_));
  KVS_RETURN_IF_ERROR(ReadOptional(base + "generation_config.json", &f->generation_config_));

  // Shards: the index's weight_map, or the single model.safetensors.
  std::map<std::string, std::set<std::string>> wanted;  // shard -> tensors the index puts there
  StatusOr<nlohmann::json> index = ReadJsonFile(base + "model.safetensors.index.json");
  if (index.ok()) {
    const std::string where = base + "model.safetensors.index.json";
    const auto map = index->is_object() ? index->find("weight_map") : index->end();
    if (!index->is_object() || map == index->end() || !map->is_object()) {
      return InvalidArgumentError(where + ": no \"weight_map\" object");
    }
    for (const auto& [tensor, shard] : map->items()) {
      if (!shard.is_string() || !PlainFileName(shard.get<std::string>())) {
        return InvalidArgumentError(where + ": tensor '" + tensor +
                                    "' maps to something that is not a file name in the folder");
      }
      wanted[shard.get<std::string>()].insert(tensor);
    }
  } else if (index.status().code() == StatusCode::kNotFound) {
    wanted["model.safetensors"];  // every tensor of the one file
  } else {
    return index.status();
  }

  std::set<std::string> seen;
  for (const auto& [shard_name, names] : wanted) {
    KVS_ASSIGN_OR_RETURN(auto shard, SafetensorsFile::Open(base + shard_name));
    for (const std::string& n : names) {
      if (shard->FindTensor(n) == nullptr) {
        return InvalidArgumentError(base + shard_name + ": has no tensor '" + n +
                                    "', which the index puts there");
      }
    }
    for (const TensorInfo& t : shard->tensors()) {
      if (!names.empty() && names.count(t.name) == 0) continue;  // not the index's: ignored
      if (!seen.insert(t.name).second) {
        return InvalidArgumentError(base + shard_name + ": tensor '" + t.name +
                                    "' is in two shards");
      }
      f->tensors_.push_back(t);
    }
    f->shards_.push_back(std::move(shard));
  }
  return f;
}

}  // namespace kvs
