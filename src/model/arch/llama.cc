// llama: Llama 1/2/3.x, Mistral 7B, SmolLM2, TinyLlama. llama.cpp's
// converter permutes Q and K so that rotary pairs are adjacent; Llama 3.1
// and later carry rope_freqs.weight, per-pair frequency divisors that
// stretch the long wavelengths (llama3 rope scaling), computed once by the
// converter from rope_scaling in config.json.
#include <cmath>

#include "model/architecture.h"
#include "model/arch/decoder_family.h"

namespace kvs {
namespace {

class Llama final : public Architecture {
 public:
  std::string_view name() const override { return "llama"; }

  StatusOr<ModelConfig> ReadConfig(const GgufFile& file) const override {
    KVS_ASSIGN_OR_RETURN(ModelConfig c, ReadDecoderConfig(file, "llama"));
    c.rope_style = RopeStyle::kAdjacent;
    KVS_RETURN_IF_ERROR(ValidateConfig(c));
    return c;
  }

  Status BindWeights(const ModelConfig& config, WeightBinder& binder,
                     ModelWeights* out) const override {
    KVS_RETURN_IF_ERROR(BindDecoderWeights(config, {.rope_freqs = true}, binder, out));
    if (out->rope_freqs != nullptr) {
      for (int p = 0; p < config.head_dim / 2; ++p) {
        const float f = out->rope_freqs[p];
        if (!std::isfinite(f) || f <= 0) {
          return InvalidArgumentError("tensor 'rope_freqs.weight' holds " + std::to_string(f) +
                                      " at " + std::to_string(p) +
                                      "; frequency divisors must be finite and positive");
        }
      }
    }
    return Status::Ok();
  }
};

}  // namespace

const Architecture& LlamaArchitecture() {
  static const Llama kLlama;
  return kLlama;
}

}  // namespace kvs
