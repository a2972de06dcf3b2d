#include "model/hf_import.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "io/gguf_writer.h"
#include "io/hf_tokenizer.h"
#include "model/rope_scaling.h"

namespace kvs {
namespace {

using Json = nlohmann::json;

StatusOr<std::string> FamilyOf(const Json& config) {
  static const std::pair<const char*, const char*> kClasses[] = {
      {"LlamaForCausalLM", "llama"}, {"MistralForCausalLM", "llama"},
      {"Qwen2ForCausalLM", "qwen2"}, {"Qwen3ForCausalLM", "qwen3"}};
  std::string cls;
  if (config.contains("architectures") && config["architectures"].is_array() &&
      !config["architectures"].empty() && config["architectures"][0].is_string()) {
    cls = config["architectures"][0].get<std::string>();
    for (const auto& [from, to] : kClasses) {
      if (cls == from) return std::string(to);
    }
  }
  // model_type decides only when no class is named: a named class we do not
  // know (a MoE or vision variant of a known model_type) is not that model.
  const auto type_it = config.find("model_type");
  const std::string type =
      type_it != config.end() && type_it->is_string() ? type_it->get<std::string>() : "";
  for (const char* t : {"llama", "mistral", "qwen2", "qwen3"}) {
    if (cls.empty() && type == t) return std::string(type == "mistral" ? "llama" : t);
  }
  return InvalidArgumentError("config.json: architecture '" + (cls.empty() ? type : cls) +
                              "' is not supported (LlamaForCausalLM, MistralForCausalLM, "
                              "Qwen2ForCausalLM, Qwen3ForCausalLM)");
}

// A positive integer from config.json, or `fallback` when absent (0: required).
StatusOr<int64_t> PositiveInt(const Json& config, const char* key, int64_t fallback = 0) {
  if (!config.contains(key) || config[key].is_null()) {
    if (fallback > 0) return fallback;
    return InvalidArgumentError(std::string("config.json: no \"") + key + "\"");
  }
  const Json& v = config[key];
  if (!v.is_number_unsigned() || v.get<uint64_t>() == 0 || v.get<uint64_t>() > (1u << 30)) {
    return InvalidArgumentError(std::string("config.json: \"") + key + "\" must be a positive integer");
  }
  return v.get<int64_t>();
}

StatusOr<double> PositiveNumber(const Json& config, const char* key, double fallback) {
  if (!config.contains(key) || config[key].is_null()) return fallback;
  const Json& v = config[key];
  if (!v.is_number() || !(v.get<double>() > 0) || !std::isfinite(v.get<double>())) {
    return InvalidArgumentError(std::string("config.json: \"") + key + "\" must be a positive number");
  }
  return v.get<double>();
}

// rope_scaling -> Llama 3.1 parameters; nullopt when none.
StatusOr<std::optional<Llama3RopeScaling>> RopeScaling(const Json& config) {
  if (!config.contains("rope_scaling") || config["rope_scaling"].is_null()) return std::nullopt;
  const Json& r = config["rope_scaling"];
  if (!r.is_object()) return InvalidArgumentError("config.json: \"rope_scaling\" is not an object");
  const std::string type = r.value("rope_type", r.value("type", std::string()));
  if (type == "default") return std::nullopt;
  if (type != "llama3") {
    return InvalidArgumentError("config.json: rope_scaling type '" + type +
                                "' is not supported (llama3 only)");
  }
  Llama3RopeScaling s;
  KVS_ASSIGN_OR_RETURN(const double factor, PositiveNumber(r, "factor", 0));
  KVS_ASSIGN_OR_RETURN(const double low, PositiveNumber(r, "low_freq_factor", 1));
  KVS_ASSIGN_OR_RETURN(const double high, PositiveNumber(r, "high_freq_factor", 4));
  KVS_ASSIGN_OR_RETURN(const int64_t orig, PositiveInt(r, "original_max_position_embeddings", 8192));
  if (factor <= 0 || !(high > low)) {
    return InvalidArgumentError("config.json: rope_scaling needs factor > 0 and high_freq_factor > low_freq_factor");
  }
  s.factor = static_cast<float>(factor);
  s.low_freq_factor = static_cast<float>(low);
  s.high_freq_factor = static_cast<float>(high);
  s.original_context = static_cast<int>(orig);
  return std::optional<Llama3RopeScaling>(s);
}

std::string BaseName(const std::string& path) {
  std::string p = path;
  while (p.size() > 1 && p.back() == '/') p.pop_back();
  const size_t slash = p.rfind('/');
  return slash == std::string::npos ? p : p.substr(slash + 1);
}

}  // namespace

namespace {

// Row h*hd + 2t + s of the adjacent-pair layout is row h*hd + s*hd/2 + t of
// the rotate-half one; `to_adjacent` says which way to copy.
void MoveRotaryRows(const uint8_t* src, uint8_t* dst, int64_t rows, int64_t row_bytes, int n_heads,
                    bool to_adjacent) {
  const int64_t hd = rows / n_heads;
  for (int64_t h = 0; h < n_heads; ++h) {
    for (int64_t t = 0; t < hd / 2; ++t) {
      for (int64_t s = 0; s < 2; ++s) {
        const int64_t adjacent = h * hd + 2 * t + s;
        const int64_t halves = h * hd + s * hd / 2 + t;
        std::memcpy(dst + (to_adjacent ? adjacent : halves) * row_bytes,
                    src + (to_adjacent ? halves : adjacent) * row_bytes,
                    static_cast<size_t>(row_bytes));
      }
    }
  }
}

}  // namespace

void PermuteRotaryRows(const uint8_t* src, uint8_t* dst, int64_t rows, int64_t row_bytes,
                       int n_heads) {
  MoveRotaryRows(src, dst, rows, row_bytes, n_heads, /*to_adjacent=*/true);
}

void UnpermuteRotaryRows(const uint8_t* src, uint8_t* dst, int64_t rows, int64_t row_bytes,
                         int n_heads) {
  MoveRotaryRows(src, dst, rows, row_bytes, n_heads, /*to_adjacent=*/false);
}

namespace {

StatusOr<std::unique_ptr<GgufFile>> Import(const HfFolder& folder) {
  const Json& c = folder.config();
  auto in_folder = [&](const Status& s) { return s.WithContext(folder.path()); };
  StatusOr<std::string> family = FamilyOf(c);
  if (!family.ok()) return in_folder(family.status());
  const std::string& a = *family;
  GgufWriter w;
  w.SetString("general.architecture", a);
  w.SetString("general.name", BaseName(folder.path()));
  struct Key {
    const char* hf;
    const char* gguf;
  };
  int64_t values[6];
  const Key keys[] = {{"hidden_size", "embedding_length"},
                      {"intermediate_size", "feed_forward_length"},
                      {"num_hidden_layers", "block_count"},
                      {"num_attention_heads", "attention.head_count"},
                      {"max_position_embeddings", "context_length"},
                      {"vocab_size", "vocab_size"}};
  for (int i = 0; i < 6; ++i) {
    StatusOr<int64_t> v = PositiveInt(c, keys[i].hf);
    if (!v.ok()) return in_folder(v.status());
    values[i] = *v;
    w.SetU32(a + "." + keys[i].gguf, static_cast<uint32_t>(*v));
  }
  const int64_t dim = values[0], n_heads = values[3], n_vocab = values[5];
  StatusOr<int64_t> n_kv_heads = PositiveInt(c, "num_key_value_heads", n_heads);
  StatusOr<int64_t> head_dim = PositiveInt(c, "head_dim", dim / n_heads);
  StatusOr<double> eps = PositiveNumber(c, "rms_norm_eps", 1e-6);
  StatusOr<double> theta = PositiveNumber(c, "rope_theta", 10000);
  for (const Status& s : {n_kv_heads.status(), head_dim.status(), eps.status(), theta.status()}) {
    if (!s.ok()) return in_folder(s);
  }
  w.SetU32(a + ".attention.head_count_kv", static_cast<uint32_t>(*n_kv_heads));
  w.SetU32(a + ".attention.key_length", static_cast<uint32_t>(*head_dim));
  w.SetU32(a + ".attention.value_length", static_cast<uint32_t>(*head_dim));
  w.SetU32(a + ".rope.dimension_count", static_cast<uint32_t>(*head_dim));
  w.SetF32(a + ".attention.layer_norm_rms_epsilon", static_cast<float>(*eps));
  w.SetF32(a + ".rope.freq_base", static_cast<float>(*theta));

  // generation_config.json's sampling values, under llama.cpp's keys.
  if (const Json* g = folder.generation_config()) {
    for (const auto& [hf, gguf] : {std::pair{"temperature", "temp"}, std::pair{"top_p", "top_p"},
                                   std::pair{"min_p", "min_p"},
                                   std::pair{"repetition_penalty", "penalty_repeat"}}) {
      if (g->contains(hf) && (*g)[hf].is_number()) {
        w.SetF32(std::string("general.sampling.") + gguf, (*g)[hf].get<float>());
      }
    }
    if (g->contains("top_k") && (*g)["top_k"].is_number_integer() && (*g)["top_k"].get<int64_t>() >= 0) {
      w.SetU32("general.sampling.top_k",
               static_cast<uint32_t>(std::min<int64_t>((*g)["top_k"].get<int64_t>(), 1 << 30)));
    }
  }

  if (folder.tokenizer() == nullptr) {
    return NotFoundError(folder.path() + ": no tokenizer.json");
  }
  StatusOr<int> tok = AddHfTokenizerMetadata(*folder.tokenizer(), folder.tokenizer_config(),
                                             folder.generation_config(), static_cast<int>(n_vocab), &w);
  if (!tok.ok()) return in_folder(tok.status());

  // Tensors of the overlay: rope_freqs, and (llama) permuted Q and K.
  struct Planned {
    const TensorInfo* source;  // null: rope_freqs
    int heads;
  };
  std::vector<Planned> planned;
  StatusOr<std::optional<Llama3RopeScaling>> scaling = RopeScaling(c);
  if (!scaling.ok()) return in_folder(scaling.status());
  std::vector<float> rope_freqs;
  if (scaling->has_value()) {
    rope_freqs = LlamaRopeFreqs(**scaling, static_cast<int>(*head_dim), static_cast<float>(*theta));
    KVS_RETURN_IF_ERROR(w.AddTensor("rope_freqs.weight", DType::kF32,
                                    {static_cast<int64_t>(rope_freqs.size())}));
    planned.push_back({nullptr, 0});
  }
  if (a == "llama") {
    for (const TensorInfo& t : folder.tensors()) {
      const std::string name = GgufTensorName(t.name);
      const bool q = name.size() > 7 && name.find(".attn_q.") != std::string::npos;
      const bool k = name.size() > 7 && name.find(".attn_k.") != std::string::npos;
      if (!q && !k) continue;
      const int heads = static_cast<int>(q ? n_heads : *n_kv_heads);
      const int64_t rows = t.dims.size() == 2 ? t.dims[1] : t.dims[0];  // a bias is one column
      if (rows != heads * *head_dim) {
        return in_folder(InvalidArgumentError(t.name + " has " + std::to_string(rows) +
                                              " rows, expected " + std::to_string(heads * *head_dim)));
      }
      KVS_RETURN_IF_ERROR(w.AddTensor(name, t.type, t.dims));
      planned.push_back({&t, heads});
    }
  }
  StatusOr<std::vector<uint8_t>> bytes = w.WriteBuffer([&](size_t i, TensorSink& sink) -> Status {
    const Planned& p = planned[i];
    if (p.source == nullptr) return sink.Write(rope_freqs.data(), rope_freqs.size() * sizeof(float));
    const TensorInfo& t = *p.source;
    const int64_t rows = t.dims.size() == 2 ? t.dims[1] : t.dims[0];
    std::vector<uint8_t> out(t.n_bytes);
    PermuteRotaryRows(static_cast<const uint8_t*>(t.data), out.data(), rows,
                      static_cast<int64_t>(t.n_bytes) / rows, p.heads);
    return sink.Write(out.data(), out.size());
  });
  if (!bytes.ok()) return bytes.status();
  return GgufFile::OpenBuffer(*std::move(bytes), folder.path());
}

}  // namespace

StatusOr<std::unique_ptr<GgufFile>> ImportHfFolder(const HfFolder& folder) {
  // nlohmann's typed accessors throw on a value of the wrong type.
  try {
    return Import(folder);
  } catch (const Json::exception& e) {
    return InvalidArgumentError(folder.path() + ": " + e.what());
  }
}

}  // namespace kvs
