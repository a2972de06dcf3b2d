#include "runtime/backend_runner.h"

#include <algorithm>
#include <string>

#include "backend/create_backend.h"

namespace kvs {

StatusOr<std::unique_ptr<BackendRunner>> BackendRunner::Create(const Model* model,
                                                               const RunnerConfig& config) {
  KVS_ASSIGN_OR_RETURN(std::unique_ptr<Backend> backend,
                       CreateBackend(config.backend, config.n_threads, config.weights_in_place));
  return Create(model, std::move(backend), config);
}

StatusOr<std::unique_ptr<BackendRunner>> BackendRunner::Create(const Model* model,
                                                               std::unique_ptr<Backend> backend,
                                                               const RunnerConfig& config) {
  if (config.block_size <= 0 || config.block_size > 1024) {
    return InvalidArgumentError("KV block size must be in 1..1024 tokens, got " +
                                std::to_string(config.block_size));
  }
  std::unique_ptr<BackendRunner> r(new BackendRunner());
  r->model_ = model;
  r->context_override_ = config.context_override;
  r->backend_ = std::move(backend);
  const ModelConfig& hp = model->config();
  int n_blocks;
  if (config.kv_cache_bytes > 0) {
    n_blocks = KvStorage::BlocksForBytes(config.kv_cache_bytes, hp.n_layers, config.block_size,
                                         model->kv_dim(), config.kv_cache_dtype);
    if (n_blocks == 0 && KvStorage::BytesPerBlock(hp.n_layers, config.block_size, model->kv_dim(),
                                                  config.kv_cache_dtype) > 0) {
      return InvalidArgumentError(
          "KV cache budget too small: one block needs " +
          std::to_string(KvStorage::BytesPerBlock(hp.n_layers, config.block_size, model->kv_dim(),
                                                 config.kv_cache_dtype)) +
          " bytes");
    }
  } else {
    const int64_t tokens =
        config.max_kv_tokens > 0 ? config.max_kv_tokens : 4 * int64_t{hp.context_length};
    n_blocks = static_cast<int>((tokens + config.block_size - 1) / config.block_size);
  }
  // A dtype the shape cannot hold leaves n_blocks at 0 above: Create says why.
  KVS_ASSIGN_OR_RETURN(r->kv_, KvStorage::Create(*r->backend_, hp.n_layers, std::max(n_blocks, 1),
                                                 config.block_size, model->kv_dim(),
                                                 config.kv_cache_dtype));
  r->forward_ = std::make_unique<DecoderForward>(model, r->backend_.get(), r->kv_.get());
  return r;
}

void BackendRunner::CopyBlocks(std::span<const BlockCopy> copies) {
  for (const BlockCopy& c : copies) {
    for (int l = 0; l < kv_->n_layers(); ++l) {
      backend_->CopyBlock(kv_->k(l), kv_->block_bytes(), c.src, c.dst);
      backend_->CopyBlock(kv_->v(l), kv_->block_bytes(), c.src, c.dst);
    }
  }
}

const float* BackendRunner::hidden_states() const { return forward_->hidden(); }

StatusOr<const float*> BackendRunner::Run(Batch& batch) {
  if (batch.n_tokens() == 0) return InvalidArgumentError("empty batch");
  const int32_t* pos = batch.positions();
  for (int64_t i = 0; i < batch.n_tokens(); ++i) {
    if (pos[i] < 0 || pos[i] >= max_context()) {
      return OutOfRangeError("position " + std::to_string(pos[i]) + " outside the context of " +
                             std::to_string(max_context()));
    }
    if (batch.tokens()[i] < 0 || batch.tokens()[i] >= vocab_size()) {
      return InvalidArgumentError("token id " + std::to_string(batch.tokens()[i]) +
                                  " outside the vocabulary");
    }
  }
  return forward_->Run(batch);
}

}  // namespace kvs
