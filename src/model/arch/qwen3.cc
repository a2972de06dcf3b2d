// qwen3: Qwen3 dense models. No Q/K/V biases; instead each head of Q and K
// is RMS-normalised (one [head_dim] weight shared by all heads) before the
// rotation. Heads are wider than dim / n_heads (attention.key_length; 128
// for Qwen3-0.6B's dim 1024 and 16 heads), and rotary pairing is NeoX's.
#include "model/architecture.h"
#include "model/arch/decoder_family.h"

namespace kvs {
namespace {

class Qwen3 final : public Architecture {
 public:
  std::string_view name() const override { return "qwen3"; }

  StatusOr<ModelConfig> ReadConfig(const GgufFile& file) const override {
    KVS_ASSIGN_OR_RETURN(ModelConfig c, ReadDecoderConfig(file, "qwen3"));
    c.rope_style = RopeStyle::kHalves;
    KVS_RETURN_IF_ERROR(ValidateConfig(c));
    return c;
  }

  Status BindWeights(const ModelConfig& config, WeightBinder& binder,
                     ModelWeights* out) const override {
    return BindDecoderWeights(config, {.qk_norm = true}, binder, out);
  }
};

}  // namespace

const Architecture& Qwen3Architecture() {
  static const Qwen3 kQwen3;
  return kQwen3;
}

}  // namespace kvs
