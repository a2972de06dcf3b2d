#include "model/batch.h"

#include "base/check.h"

namespace kvs {

void Batch::Clear() {
  tokens_.clear();
  positions_.clear();
  tables_.clear();
  logit_rows_.clear();
  hidden_rows_.clear();
  slots_.clear();
}

void Batch::AddSequence(std::span<const TokenId> tokens, int start_pos,
                        std::span<const BlockId> block_table, bool want_logits,
                        bool want_hidden, bool all_logits) {
  for (size_t i = 0; i < tokens.size(); ++i) {
    if (want_hidden) hidden_rows_.push_back(static_cast<int32_t>(tokens_.size()));
    if (all_logits) logit_rows_.push_back(static_cast<int32_t>(tokens_.size()));
    tokens_.push_back(tokens[i]);
    positions_.push_back(start_pos + static_cast<int32_t>(i));
    tables_.push_back(block_table.data());
  }
  if (want_logits && !all_logits) {
    KVS_CHECK(!tokens.empty()) << "a sequence that wants logits needs a token";
    logit_rows_.push_back(static_cast<int32_t>(tokens_.size()) - 1);
  }
}

void Batch::ComputeSlots(int block_size) {
  slots_.resize(tokens_.size());
  for (size_t i = 0; i < tokens_.size(); ++i) {
    const int32_t pos = positions_[i];
    slots_[i] = tables_[i][pos / block_size] * block_size + pos % block_size;
  }
}

}  // namespace kvs
