// The parts the decoder families (llama, qwen2, qwen3) share: reading the
// "<arch>.*" hyperparameters llama.cpp's converters write, and binding the
// standard tensors of a pre-norm SwiGLU decoder with the family's optional
// extras.
#pragma once

#include "io/gguf_reader.h"
#include "model/model_config.h"
#include "model/model_weights.h"
#include "model/weight_binder.h"

namespace kvs {

// <arch>.embedding_length, feed_forward_length, block_count,
// attention.head_count(_kv), context_length, attention.layer_norm_rms_epsilon,
// rope.freq_base; head_dim from attention.key_length when present, else
// embedding_length / head_count. rope.dimension_count, when present, must
// equal head_dim (partial rotary embeddings are not supported). Not yet
// validated: the family may adjust the result first.
StatusOr<ModelConfig> ReadDecoderConfig(const GgufFile& file, std::string_view arch);

// Which optional tensors a family has.
struct DecoderTensors {
  bool qkv_bias = false;     // blk.N.attn_{q,k,v}.bias
  bool qk_norm = false;      // blk.N.attn_{q,k}_norm.weight, [head_dim]
  bool rope_freqs = false;   // rope_freqs.weight, [head_dim / 2], may be absent
};

Status BindDecoderWeights(const ModelConfig& c, const DecoderTensors& extras,
                          WeightBinder& binder, ModelWeights* out);

}  // namespace kvs
