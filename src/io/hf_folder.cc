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
