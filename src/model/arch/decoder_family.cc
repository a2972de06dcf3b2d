#include "model/arch/decoder_family.h"

#include <limits>
#include <string>

namespace kvs {
namespace {

std::string Key(std::string_view arch, const char* suffix) {
  return std::string(arch) + "." + suffix;
}

StatusOr<int> RequiredInt(const GgufFile& f, const std::string& key) {
  KVS_ASSIGN_OR_RETURN(uint32_t v, f.GetU32(key));
  if (v == 0 || v > static_cast<uint32_t>(std::numeric_limits<int>::max())) {
    return InvalidArgumentError("GGUF file '" + f.name() + "': " + key + " = " +
                                std::to_string(v) + " is out of range");
  }
  return static_cast<int>(v);
}

StatusOr<int> OptionalInt(const GgufFile& f, const std::string& key, int fallback) {
  if (f.Find(key) == nullptr) return fallback;
  return RequiredInt(f, key);
}

StatusOr<float> OptionalFloat(const GgufFile& f, const std::string& key, float fallback) {
  if (f.Find(key) == nullptr) return fallback;
  return f.GetF32(key);
}

}  // namespace

StatusOr<ModelConfig> ReadDecoderConfig(const GgufFile& f, std::string_view arch) {
  ModelConfig c;
  c.arch = std::string(arch);
  if (f.Find("general.name") != nullptr) {
    KVS_ASSIGN_OR_RETURN(c.name, f.GetString("general.name"));
  }
  KVS_ASSIGN_OR_RETURN(c.dim, RequiredInt(f, Key(arch, "embedding_length")));
  KVS_ASSIGN_OR_RETURN(c.hidden_dim, RequiredInt(f, Key(arch, "feed_forward_length")));
  KVS_ASSIGN_OR_RETURN(c.n_layers, RequiredInt(f, Key(arch, "block_count")));
  KVS_ASSIGN_OR_RETURN(c.n_heads, RequiredInt(f, Key(arch, "attention.head_count")));
  KVS_ASSIGN_OR_RETURN(c.n_kv_heads,
                       OptionalInt(f, Key(arch, "attention.head_count_kv"), c.n_heads));
  KVS_ASSIGN_OR_RETURN(c.context_length, RequiredInt(f, Key(arch, "context_length")));
  KVS_ASSIGN_OR_RETURN(c.norm_eps,
                       OptionalFloat(f, Key(arch, "attention.layer_norm_rms_epsilon"), 1e-5f));
  KVS_ASSIGN_OR_RETURN(c.rope_freq_base, OptionalFloat(f, Key(arch, "rope.freq_base"), 10000.f));
  if (c.dim % c.n_heads != 0 && f.Find(Key(arch, "attention.key_length")) == nullptr) {
    return InvalidArgumentError("GGUF file '" + f.name() + "': " + Key(arch, "embedding_length") +
                                " " + std::to_string(c.dim) + " does not split into " +
                                std::to_string(c.n_heads) + " heads");
  }
  KVS_ASSIGN_OR_RETURN(c.head_dim,
                       OptionalInt(f, Key(arch, "attention.key_length"), c.dim / c.n_heads));
  KVS_ASSIGN_OR_RETURN(int value_length,
                       OptionalInt(f, Key(arch, "attention.value_length"), c.head_dim));
  if (value_length != c.head_dim) {
    return UnimplementedError("GGUF file '" + f.name() + "': " +
                              Key(arch, "attention.value_length") + " " +
                              std::to_string(value_length) + " differs from key_length " +
                              std::to_string(c.head_dim) + " (not supported)");
  }
  KVS_ASSIGN_OR_RETURN(int rope_dims,
                       OptionalInt(f, Key(arch, "rope.dimension_count"), c.head_dim));
  if (rope_dims != c.head_dim) {
    return UnimplementedError("GGUF file '" + f.name() + "': " +
                              Key(arch, "rope.dimension_count") + " = " +
                              std::to_string(rope_dims) + " but heads are " +
                              std::to_string(c.head_dim) +
                              " wide (partial rotary embeddings are not supported)");
  }
  if (const TensorInfo* embd = f.FindTensor("token_embd.weight");
      embd != nullptr && embd->dims.size() == 2 &&
      embd->dims[1] <= std::numeric_limits<int>::max()) {
    c.n_vocab = static_cast<int>(embd->dims[1]);
  } else {
    // An imported Hugging Face folder's metadata: its tensors live in the
    // safetensors files, so the overlay states the size (binding checks it).
    KVS_ASSIGN_OR_RETURN(c.n_vocab, OptionalInt(f, Key(arch, "vocab_size"), 0));
  }
  return c;
}

Status BindDecoderWeights(const ModelConfig& c, const DecoderTensors& extras,
                          WeightBinder& b, ModelWeights* out) {
  const int64_t dim = c.dim, q_dim = c.q_dim(), kv_dim = c.kv_dim(), hidden = c.hidden_dim;
  KVS_RETURN_IF_ERROR(b.Matrix("token_embd.weight", c.n_vocab, dim, &out->token_embd));
  out->layers.resize(c.n_layers);
  for (int l = 0; l < c.n_layers; ++l) {
    LayerWeights& w = out->layers[l];
    auto name = [l](const char* suffix) { return LayerTensorName(l, suffix); };
    KVS_RETURN_IF_ERROR(b.Vector(name("attn_norm.weight"), dim, &w.attn_norm));
    KVS_RETURN_IF_ERROR(b.Matrix(name("attn_q.weight"), q_dim, dim, &w.wq));
    KVS_RETURN_IF_ERROR(b.Matrix(name("attn_k.weight"), kv_dim, dim, &w.wk));
    KVS_RETURN_IF_ERROR(b.Matrix(name("attn_v.weight"), kv_dim, dim, &w.wv));
    if (extras.qkv_bias) {
      KVS_RETURN_IF_ERROR(b.Vector(name("attn_q.bias"), q_dim, &w.q_bias));
      KVS_RETURN_IF_ERROR(b.Vector(name("attn_k.bias"), kv_dim, &w.k_bias));
      KVS_RETURN_IF_ERROR(b.Vector(name("attn_v.bias"), kv_dim, &w.v_bias));
    }
    if (extras.qk_norm) {
      KVS_RETURN_IF_ERROR(b.Vector(name("attn_q_norm.weight"), c.head_dim, &w.q_norm));
      KVS_RETURN_IF_ERROR(b.Vector(name("attn_k_norm.weight"), c.head_dim, &w.k_norm));
    }
    KVS_RETURN_IF_ERROR(b.Matrix(name("attn_output.weight"), dim, q_dim, &w.wo));
    KVS_RETURN_IF_ERROR(b.Vector(name("ffn_norm.weight"), dim, &w.ffn_norm));
    KVS_RETURN_IF_ERROR(b.Matrix(name("ffn_gate.weight"), hidden, dim, &w.w_gate));
    KVS_RETURN_IF_ERROR(b.Matrix(name("ffn_up.weight"), hidden, dim, &w.w_up));
    KVS_RETURN_IF_ERROR(b.Matrix(name("ffn_down.weight"), dim, hidden, &w.w_down));
  }
  KVS_RETURN_IF_ERROR(b.Vector("output_norm.weight", dim, &out->output_norm));
  if (b.Has("output.weight")) {
    KVS_RETURN_IF_ERROR(b.Matrix("output.weight", c.n_vocab, dim, &out->output));
  } else {
    out->output = out->token_embd;  // tied classifier
  }
  if (extras.rope_freqs) {
    KVS_RETURN_IF_ERROR(b.OptionalVector("rope_freqs.weight", c.head_dim / 2, &out->rope_freqs));
  }
  return Status::Ok();
}

}  // namespace kvs
