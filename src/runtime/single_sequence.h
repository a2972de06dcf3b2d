// SingleSequence: runs one sequence through a ModelRunner without the
// engine: the whole KV pool is this sequence's, block i holding positions
// [i * block_size, (i + 1) * block_size). Used by `kvserve generate` and
// `kvserve bench`; the engine takes the same runner path for many sequences.
// Thread-safety: one caller at a time.
#pragma once

#include <span>
#include <vector>

#include "base/status.h"
#include "model/batch.h"
#include "runtime/model_runner.h"

namespace kvs {

class SingleSequence {
 public:
  // runner is borrowed. max_chunk: prompt tokens per forward call.
  explicit SingleSequence(ModelRunner* runner, int max_chunk = 512);

  // Starts over at position 0.
  void Reset() { n_past_ = 0; }

  // Appends tokens at positions n_past().. and returns the logits
  // [n_vocab] of the last one, valid until the next call.
  StatusOr<const float*> Feed(std::span<const TokenId> tokens);

  int n_past() const { return n_past_; }
  // Positions the KV pool has room for.
  int capacity() const { return static_cast<int>(table_.size()) * runner_->block_size(); }

 private:
  ModelRunner* runner_;
  int max_chunk_;
  int n_past_ = 0;
  std::vector<BlockId> table_;
  Batch batch_;
};

}  // namespace kvs
