// qwen2: Qwen2 and Qwen2.5. A Llama block with biases on the Q, K and V
// projections, and NeoX rotary pairing (dimension p with p + head_dim / 2:
// llama.cpp's converter does not permute Qwen's Q and K).
#include "model/architecture.h"
#include "model/arch/decoder_family.h"

namespace kvs {
namespace {

class Qwen2 final : public Architecture {
 public:
  std::string_view name() const override { return "qwen2"; }

  StatusOr<ModelConfig> ReadConfig(const GgufFile& file) const override {
    KVS_ASSIGN_OR_RETURN(ModelConfig c, ReadDecoderConfig(file, "qwen2"));
    c.rope_style = RopeStyle::kHalves;
    KVS_RETURN_IF_ERROR(ValidateConfig(c));
    return c;
  }

  Status BindWeights(const ModelConfig& config, WeightBinder& binder,
                     ModelWeights* out) const override {
    return BindDecoderWeights(config, {.qkv_bias = true}, binder, out);
  }
};

}  // namespace

const Architecture& Qwen2Architecture() {
  static const Qwen2 kQwen2;
  return kQwen2;
}

}  // namespace kvs
