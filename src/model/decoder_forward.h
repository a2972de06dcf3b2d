// DecoderForward: one forward pass of a pre-norm decoder (llama, qwen2,
// qwen3; see architecture.h) over a flattened Batch, reading and writing the
// paged KV cache. This is the one readable description of the models'
// arithmetic; every op runs on the Backend.
//
// Ownership: borrows the model, backend and KV storage; owns the weight
// matrices the backend copied or repacked for itself (PrepareWeights, once,
// in the constructor) and scratch
// activations sized for the largest batch seen (grown only when a batch is
// larger than any before, so the steady-state step does not allocate).
// Thread-safety: one caller at a time.
#pragma once

#include <initializer_list>
#include <optional>
#include <vector>

#include "backend/backend.h"
#include "backend/kv_storage.h"
#include "base/aligned_vector.h"
#include "model/batch.h"
#include "model/model.h"

namespace kvs {

// Told after each layer's K/V of a batch is stored in the paged cache, on
// the thread that runs the forward pass (src/disagg sends those blocks while
// the next layers compute). Must not block for long or allocate.
class LayerKvObserver {
 public:
  virtual ~LayerKvObserver() = default;
  virtual void OnLayerKvStored(int layer) = 0;
};

class DecoderForward {
 public:
  DecoderForward(const Model* model, Backend* backend, KvStorage* kv);

  // Runs the batch; returns [batch.n_logit_rows(), n_vocab] logits, valid
  // until the next call. REQUIRES: every row's block table covers its
  // position, and positions < context length.
  const float* Run(Batch& batch);
  // [batch.n_hidden_rows(), dim]: the final hidden states (output norm
  // applied) of the last Run's hidden rows, valid until the next call.
  const float* hidden() const { return hidden_.data(); }
  // Borrowed; null (the default) for none.
  void set_layer_observer(LayerKvObserver* observer) { observer_ = observer; }

 private:
  void Reserve(int64_t n_tokens, int64_t n_logit_rows, int64_t n_hidden_rows);
  // x[n, d] += bias[d] for each row.
  void AddBias(float* x, const float* bias, int64_t n, int64_t d);

  // The matrices as one, if they are back to back with the same format and
  // all but the last have whole MatMulParts parts (kMatMulPartAlign rows).
  static std::optional<WeightMatrix> Concat(std::initializer_list<const WeightMatrix*> ms);

  // Q, K and V run as one MatMulParts, and gate and up as one, where the
  // prepared matrices lie back to back in memory: one parallel section and
  // one activation quantization instead of three (two), each part's output
  // where the next op reads it. Each output row is computed exactly as in
  // the separate MatMuls, so results do not change.
  struct FusedLayer {
    std::optional<WeightMatrix> qkv;      // wq ; wk ; wv
    std::optional<WeightMatrix> gate_up;  // w_gate ; w_up
  };

  const Model* model_;
  LayerKvObserver* observer_ = nullptr;
  Backend* backend_;
  KvStorage* kv_;
  // The model's weights with every MatMul matrix as the backend prepared it
  // (token_embd stays the file's view: GetRows reads it).
  ModelWeights weights_;
  PreparedWeights prepared_;  // owns the backend's copies
  std::vector<FusedLayer> fused_;  // [n_layers]

  AlignedVector<float> x_;       // [n, dim] residual stream
  AlignedVector<float> xb_;      // [n, dim] normed input / sublayer output
  // q [n, n_heads, head_dim] | k [n, n_kv_heads, head_dim] | v [same as k]
  AlignedVector<float> qkv_;
  AlignedVector<float> att_;      // [n, n_heads, head_dim]
  RopeParams rope_;
  AlignedVector<float> gate_up_;  // gate [n, hidden_dim] | up [n, hidden_dim]
  AlignedVector<float> last_;    // [n_logit_rows, dim]
  AlignedVector<float> logits_;  // [n_logit_rows, n_vocab]
  AlignedVector<float> hidden_;  // [n_hidden_rows, dim]
};

}  // namespace kvs
