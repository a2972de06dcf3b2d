// ModelRunner: runs one Batch through a model and returns logits. It decides
// no policy (the scheduler does). The engine talks to this interface so that
// scheduler tests can use a fake runner without a model.
#pragma once

#include <span>

#include "base/status.h"
#include "kv/kv_cache_manager.h"
#include "model/batch.h"

namespace kvs {

class ModelRunner {
 public:
  virtual ~ModelRunner() = default;

  virtual int vocab_size() const = 0;
  virtual int block_size() const = 0;
  virtual int n_kv_blocks() const = 0;
  virtual int max_context() const = 0;

  // Performs copy-on-write block copies in every layer's cache.
  virtual void CopyBlocks(std::span<const BlockCopy> copies) = 0;

  // Runs the batch. On success the returned pointer addresses
  // [batch.n_logit_rows(), vocab_size()] logits, valid until the next Run.
  virtual StatusOr<const float*> Run(Batch& batch) = 0;

  // Width of the final hidden states (after the output norm) that Run
  // leaves for the batch's hidden rows; 0 when the runner has none.
  virtual int hidden_size() const { return 0; }
  // [batch.n_hidden_rows(), hidden_size()] after a successful Run.
  virtual const float* hidden_states() const { return nullptr; }
};

}  // namespace kvs
