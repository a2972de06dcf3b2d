// Architecture: what kvserve knows about one model family (general.
// architecture in GGUF): how its hyperparameters are spelled in metadata,
// which tensors it has and their shapes. One family per file under arch/
// (llama.cc, qwen2.cc, qwen3.cc); FindArchitecture is the one registry.
//
// The forward pass: llama, qwen2 and qwen3 share one block (RMSNorm,
// rotary attention with grouped KV heads, SwiGLU) and differ only by
// optional tensors (Q/K/V biases, per-head Q/K norms, rope frequency
// divisors) and the rope pairing, all carried by ModelConfig and
// ModelWeights; DecoderForward runs all three. A family whose block differs
// in structure (gemma3's GeGLU and sandwich norms) brings a forward pass of
// its own, chosen here.
//
// Thread-safety: implementations are stateless and immutable.
#pragma once

#include <string>
#include <string_view>

#include "base/status.h"
#include "io/gguf_reader.h"
#include "model/model_config.h"
#include "model/model_weights.h"
#include "model/weight_binder.h"

namespace kvs {

class Architecture {
 public:
  virtual ~Architecture() = default;

  virtual std::string_view name() const = 0;
  // The hyperparameters from a GGUF file's "<name>.*" keys, validated
  // (ValidateConfig). n_vocab comes from token_embd.weight's rows.
  virtual StatusOr<ModelConfig> ReadConfig(const GgufFile& file) const = 0;
  // Binds every tensor the family needs, shape-checked against `config`.
  virtual Status BindWeights(const ModelConfig& config, WeightBinder& binder,
                             ModelWeights* out) const = 0;
};

// The family registered under `name`; Unimplemented naming it and listing
// the supported families otherwise.
StatusOr<const Architecture*> FindArchitecture(std::string_view name);

// One function per family file (arch/*.cc).
const Architecture& LlamaArchitecture();
const Architecture& Qwen2Architecture();
const Architecture& Qwen3Architecture();

}  // namespace kvs
