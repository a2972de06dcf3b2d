#include "runtime/single_sequence.h"

#include <algorithm>
#include <string>

namespace kvs {

SingleSequence::SingleSequence(ModelRunner* runner, int max_chunk)
    : runner_(runner), max_chunk_(std::max(1, max_chunk)) {
  table_.resize(runner->n_kv_blocks());
  for (size_t i = 0; i < table_.size(); ++i) table_[i] = static_cast<BlockId>(i);
}

StatusOr<const float*> SingleSequence::Feed(std::span<const TokenId> tokens) {
  if (tokens.empty()) return InvalidArgumentError("nothing to feed");
  const int64_t end = n_past_ + static_cast<int64_t>(tokens.size());
  if (end > capacity() || end > runner_->max_context()) {
    return OutOfRangeError("sequence of " + std::to_string(end) + " tokens exceeds " +
                           (end > runner_->max_context() ? "the model's context of " +
                                                               std::to_string(runner_->max_context())
                                                         : "the KV cache's " +
                                                               std::to_string(capacity())) +
                           " tokens");
  }
  const float* logits = nullptr;
  for (size_t begin = 0; begin < tokens.size(); begin += max_chunk_) {
    const size_t len = std::min(tokens.size() - begin, static_cast<size_t>(max_chunk_));
    const bool last = begin + len == tokens.size();
    batch_.Clear();
    batch_.AddSequence(tokens.subspan(begin, len), n_past_, table_, last);
    KVS_ASSIGN_OR_RETURN(logits, runner_->Run(batch_));
    n_past_ += static_cast<int>(len);
  }
  return logits;
}

}  // namespace kvs
