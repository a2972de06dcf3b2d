// ModelConfig: the hyperparameters of a decoder-only transformer of any
// family kvserve runs (llama, qwen2, qwen3), whatever file they came from.
// An Architecture (architecture.h) fills it from a file's metadata;
// ValidateConfig checks it before any tensor is bound.
#pragma once

#include <string>

#include "backend/backend.h"
#include "base/status.h"

namespace kvs {

struct ModelConfig {
  std::string arch = "llama";  // general.architecture
  std::string name;
  int n_vocab = 0;
  int dim = 0;         // embedding width
  int hidden_dim = 0;  // FFN inner width
  int n_layers = 0;
  int n_heads = 0;
  int n_kv_heads = 0;  // < n_heads for grouped-query attention
  // Width of one attention head. dim / n_heads for most models; Qwen3 and
  // others set it separately (attention.key_length), so q_dim() != dim.
  int head_dim = 0;
  int context_length = 0;
  float norm_eps = 1e-5f;
  float rope_freq_base = 10000.f;
  RopeStyle rope_style = RopeStyle::kAdjacent;

  int q_dim() const { return n_heads * head_dim; }
  int kv_dim() const { return n_kv_heads * head_dim; }
};

// Every field in range and consistent: positive sizes below 2^24, heads
// split into kv groups, an even head_dim, a finite positive norm epsilon, a
// finite rope base above 1, a context of at least kMinContext tokens. The
// error names the offending field.
inline constexpr int kMinContext = 4;
Status ValidateConfig(const ModelConfig& c);

}  // namespace kvs
