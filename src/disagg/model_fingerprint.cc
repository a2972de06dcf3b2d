#include "disagg/model_fingerprint.h"

#include <openssl/evp.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <string>

namespace kvs {

Fingerprint ModelFingerprint(const Model& model) {
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr);
  auto add = [&](const void* p, size_t n) { EVP_DigestUpdate(ctx.get(), p, n); };
  auto add_str = [&](const std::string& s) {
    const uint64_t n = s.size();
    add(&n, sizeof(n));
    add(s.data(), s.size());
  };
  const ModelConfig& c = model.config();
  add_str(c.arch);
  const int64_t ints[] = {c.n_vocab,
                          c.dim,
                          c.hidden_dim,
                          c.n_layers,
                          c.n_heads,
                          c.n_kv_heads,
                          c.head_dim,
                          c.context_length,
                          static_cast<int64_t>(c.rope_style)};
  add(ints, sizeof(ints));
  const float floats[] = {c.norm_eps, c.rope_freq_base};
  add(floats, sizeof(floats));
  for (const TensorInfo& t : model.file().tensors()) {
    add_str(t.name);
    add_str(std::string(DTypeName(t.type)));
    const uint64_t n_dims = t.dims.size();
    add(&n_dims, sizeof(n_dims));
    add(t.dims.data(), t.dims.size() * sizeof(int64_t));
    const uint64_t n_bytes = t.n_bytes;
    add(&n_bytes, sizeof(n_bytes));
    if (t.data != nullptr) add(t.data, t.n_bytes);
  }
  Fingerprint f{};
  unsigned int len = 0;
  EVP_DigestFinal_ex(ctx.get(), f.data(), &len);
  return f;
}

KvLayout MakeKvLayout(const Fingerprint& model, const ModelConfig& config,
                      const KvStorage& storage) {
  KvLayout l;
  l.model = model;
  l.n_layers = storage.n_layers();
  l.n_kv_heads = config.n_kv_heads;
  l.head_dim = config.head_dim;
  l.block_size = storage.block_size();
  const std::string dtype = storage.dtype_name();
  std::memcpy(l.kv_dtype, dtype.data(), std::min(dtype.size(), sizeof(l.kv_dtype) - 1));
  l.block_bytes = storage.block_bytes();
  return l;
}

}  // namespace kvs
