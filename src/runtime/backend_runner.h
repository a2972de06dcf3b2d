// BackendRunner: the ModelRunner that runs a Model on a Backend: owns the
// backend (injected), the physical KV cache (allocated by that backend) and
// the forward pass with its scratch; borrows the model. Decides no policy.
// Thread-safety: one caller at a time (the engine thread).
#pragma once

#include <memory>
#include <string>

#include "backend/backend.h"
#include "model/model.h"
#include "backend/kv_storage.h"
#include "model/decoder_forward.h"
#include "runtime/model_runner.h"

namespace kvs {

struct RunnerConfig {
  std::string backend = "cpu";  // "cpu" or "reference": for Create without a backend
  int n_threads = 0;            // 0: all cores; likewise
  int block_size = 16;          // tokens per KV block
  int64_t kv_cache_bytes = 0;   // 0: enough for max_kv_tokens (or the context)
  int64_t max_kv_tokens = 0;    // used when kv_cache_bytes == 0; 0: 4 full contexts
  // What the KV cache stores (IsKvCacheDType): F32 exact; F16/BF16 fit 2x
  // the tokens in kv_cache_bytes, Q8_0 128/34 (3.76x).
  DType kv_cache_dtype = DType::kF32;
  // Positions the runner accepts: 0 for the model's context_length. Larger
  // only for benchmarks (`kvserve bench -d`, as llama-bench sizes its
  // context to p + n + d whatever the model was trained for).
  int context_override = 0;
  // The backend reads the matrices it needs in the file's layout from the
  // model's mapping instead of copying them (CpuBackendOptions).
  bool weights_in_place = false;
};

class BackendRunner final : public ModelRunner {
 public:
  // model is borrowed and must outlive the runner.
  static StatusOr<std::unique_ptr<BackendRunner>> Create(const Model* model,
                                                         std::unique_ptr<Backend> backend,
                                                         const RunnerConfig& config);
  // The same with the backend config.backend names (CreateBackend).
  static StatusOr<std::unique_ptr<BackendRunner>> Create(const Model* model,
                                                         const RunnerConfig& config);

  int vocab_size() const override { return model_->config().n_vocab; }
  int block_size() const override { return kv_->block_size(); }
  int n_kv_blocks() const override { return kv_->n_blocks(); }
  int max_context() const override {
    return context_override_ > 0 ? context_override_ : model_->config().context_length;
  }
  void CopyBlocks(std::span<const BlockCopy> copies) override;
  StatusOr<const float*> Run(Batch& batch) override;
  int hidden_size() const override { return model_->config().dim; }
  const float* hidden_states() const override;

  const Model& model() const { return *model_; }
  Backend& backend() { return *backend_; }
  const KvStorage& kv_storage() const { return *kv_; }
  // For moving blocks between engines (src/disagg); the caller touches only
  // blocks the KV manager has given it.
  KvStorage& mutable_kv_storage() { return *kv_; }
  // See LayerKvObserver; borrowed, null for none.
  void set_layer_observer(LayerKvObserver* observer) { forward_->set_layer_observer(observer); }

 private:
  BackendRunner() = default;

  const Model* model_ = nullptr;
  int context_override_ = 0;
  std::unique_ptr<Backend> backend_;
  std::unique_ptr<KvStorage> kv_;
  std::unique_ptr<DecoderForward> forward_;
};

}  // namespace kvs
