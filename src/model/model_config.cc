#include "model/model_config.h"

#include <cmath>

namespace kvs {

Status ValidateConfig(const ModelConfig& c) {
  constexpr int kMax = 1 << 24;  // far above any real model's sizes
  const struct {
    const char* field;
    int value;
  } sizes[] = {{"n_vocab", c.n_vocab},       {"embedding_length", c.dim},
               {"feed_forward_length", c.hidden_dim}, {"block_count", c.n_layers},
               {"attention.head_count", c.n_heads},   {"attention.head_count_kv", c.n_kv_heads},
               {"head_dim", c.head_dim},              {"context_length", c.context_length}};
  for (const auto& s : sizes) {
    if (s.value <= 0 || s.value > kMax) {
      return InvalidArgumentError(c.arch + " hyperparameter " + s.field + " = " +
                                  std::to_string(s.value) + " is out of range");
    }
  }
  if (c.n_heads % c.n_kv_heads != 0) {
    return InvalidArgumentError(c.arch + ": attention.head_count " + std::to_string(c.n_heads) +
                                " does not split into attention.head_count_kv " +
                                std::to_string(c.n_kv_heads) + " groups");
  }
  if (c.head_dim % 2 != 0) {
    return InvalidArgumentError(c.arch + ": head_dim " + std::to_string(c.head_dim) +
                                " is odd; rotary embeddings need pairs");
  }
  if (int64_t{c.n_heads} * c.head_dim > kMax) {
    return InvalidArgumentError(c.arch + ": n_heads * head_dim is out of range");
  }
  if (!std::isfinite(c.norm_eps) || c.norm_eps <= 0 || c.norm_eps > 1) {
    return InvalidArgumentError(c.arch + " hyperparameter attention.layer_norm_rms_epsilon = " +
                                std::to_string(c.norm_eps) + " must be finite and in (0, 1]");
  }
  if (!std::isfinite(c.rope_freq_base) || c.rope_freq_base <= 1) {
    return InvalidArgumentError(c.arch + " hyperparameter rope.freq_base = " +
                                std::to_string(c.rope_freq_base) + " must be finite and above 1");
  }
  if (c.context_length < kMinContext) {
    return InvalidArgumentError(c.arch + " hyperparameter context_length = " +
                                std::to_string(c.context_length) + " is below " +
                                std::to_string(kMinContext) + " tokens");
  }
  return Status::Ok();
}

}  // namespace kvs
