// Batch: one engine step's work, flattened. Every scheduled token of every
// sequence is one row; each row knows its position and its sequence's block
// table; only rows marked for logits produce them.
//
// The engine thread builds it each step, reusing its vectors (Clear keeps
// capacity), so the steady-state step does not allocate.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "kv/kv_cache_manager.h"

namespace kvs {

class Batch {
 public:
  void Clear();

  // Appends tokens [n] of one sequence at positions start_pos..start_pos+n-1.
  // block_table must cover those positions and stay valid until the step
  // ends. With want_logits, the last of these rows gets a logits row; with
  // want_hidden, every one of them gets a final hidden state (embeddings);
  // with all_logits, every one of them gets a logits row (prompt logprobs;
  // want_logits is then implied).
  void AddSequence(std::span<const TokenId> tokens, int start_pos,
                   std::span<const BlockId> block_table, bool want_logits,
                   bool want_hidden = false, bool all_logits = false);

  int64_t n_tokens() const { return static_cast<int64_t>(tokens_.size()); }
  int64_t n_logit_rows() const { return static_cast<int64_t>(logit_rows_.size()); }
  int64_t n_hidden_rows() const { return static_cast<int64_t>(hidden_rows_.size()); }

  const TokenId* tokens() const { return tokens_.data(); }                 // [n_tokens]
  const int32_t* positions() const { return positions_.data(); }           // [n_tokens]
  const int32_t* const* block_tables() const { return tables_.data(); }    // [n_tokens]
  const int32_t* logit_rows() const { return logit_rows_.data(); }         // [n_logit_rows]
  const int32_t* hidden_rows() const { return hidden_rows_.data(); }       // [n_hidden_rows]
  // KV slot (block * block_size + offset) each row writes.
  void ComputeSlots(int block_size);
  const int32_t* slots() const { return slots_.data(); }  // [n_tokens]

 private:
  std::vector<TokenId> tokens_;
  std::vector<int32_t> positions_;
  std::vector<const int32_t*> tables_;
  std::vector<int32_t> logit_rows_;
  std::vector<int32_t> hidden_rows_;
  std::vector<int32_t> slots_;
};

}  // namespace kvs
