// LlamaRunner: the ModelRunner for Llama models: owns the backend, the
// physical KV cache and the forward pass's scratch; borrows the model.
// Decides no policy. Thread-safety: one caller at a time (the engine thread).
#pragma once

#include <memory>
#include <string>

#include "backend/backend.h"
#include "model/llama_model.h"
#include "runtime/kv_storage.h"
#include "runtime/llama_forward.h"
#include "runtime/model_runner.h"

namespace kvs {

struct RunnerConfig {
  std::string backend = "cpu";  // "cpu" or "reference"
  int n_threads = 0;            // 0: all cores
  int block_size = 16;          // tokens per KV block
  int64_t kv_cache_bytes = 0;   // 0: enough for max_kv_tokens (or the context)
  int64_t max_kv_tokens = 0;    // used when kv_cache_bytes == 0; 0: 4 full contexts
};

class LlamaRunner final : public ModelRunner {
 public:
  // model is borrowed and must outlive the runner.
  static StatusOr<std::unique_ptr<LlamaRunner>> Create(const LlamaModel* model,
                                                       const RunnerConfig& config);

  int vocab_size() const override { return model_->hparams().n_vocab; }
  int block_size() const override { return kv_->block_size(); }
  int n_kv_blocks() const override { return kv_->n_blocks(); }
  int max_context() const override { return model_->hparams().context_length; }
  void CopyBlocks(std::span<const BlockCopy> copies) override;
  StatusOr<const float*> Run(Batch& batch) override;

  const LlamaModel& model() const { return *model_; }
  Backend& backend() { return *backend_; }
  const KvStorage& kv_storage() const { return *kv_; }

 private:
  LlamaRunner() = default;

  const LlamaModel* model_ = nullptr;
  std::unique_ptr<Backend> backend_;
  std::unique_ptr<KvStorage> kv_;
  std::unique_ptr<LlamaForward> forward_;
};

}  // namespace kvs
