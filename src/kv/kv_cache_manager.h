// KvCacheManager: decides which KV block holds every token of every sequence.
//
// It deals only in sequence ids, token ids, counts and block ids: no tensors,
// no model. The engine thread owns it; not thread-safe.
//
// Model (as in vLLM v1): a sequence has a block table. Its first blocks may
// come from the prefix cache (LookupPrefix); AllocateSlots grows the table to
// cover the tokens about to be computed; CommitTokens tells the manager which
// tokens are now computed, which registers newly full blocks in the prefix
// cache; Free releases the table tail first.
//
// Invariants (checked by CheckInvariants()):
//  - a block is in use (ref_count >= 1, in no free list) or free (ref_count 0,
//    in the LRU free list, possibly still cached and findable by its hash);
//  - a cached block's contents never change while it can be found: a block is
//    written only by a sequence that holds it alone, or after copy-on-write;
//  - only full blocks are hashed; hash(block) = H(hash(parent), tokens, salt);
//  - sum of references held by sequences == sum of ref_counts.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "base/status.h"
#include "tokenizer/vocab.h"

namespace kvs {

using BlockId = int32_t;
using SeqId = int64_t;

struct KvManagerConfig {
  int n_blocks = 0;    // total blocks in the pool
  int block_size = 16;  // tokens per block
  bool enable_prefix_caching = true;
};

// A copy the backend must perform before the step runs (copy-on-write).
struct BlockCopy {
  BlockId src;
  BlockId dst;
};

struct KvStats {
  int64_t blocks_total = 0;
  int64_t blocks_used = 0;         // ref_count >= 1
  int64_t blocks_cached_free = 0;  // free but still findable by hash
  int64_t prefix_lookups = 0;
  int64_t prefix_queried_tokens = 0;
  int64_t prefix_hit_tokens = 0;
  int64_t evictions = 0;  // cached blocks whose hash was dropped on reuse
  int64_t cow_copies = 0;
};

class KvCacheManager {
 public:
  explicit KvCacheManager(const KvManagerConfig& config);

  int block_size() const;
  int n_blocks() const;
  int n_free_blocks() const;

  // Finds the longest run of cached full blocks that prefix `tokens` under
  // `salt`, takes a reference on each, and makes them seq's first blocks.
  // Returns the number of tokens covered (a multiple of block_size). When all
  // of tokens would be covered, the last block is not taken, so at least one
  // token is left to compute (the model needs logits for the last one).
  // REQUIRES: seq holds no blocks.
  int LookupPrefix(SeqId seq, std::span<const TokenId> tokens, const std::string& salt);

  // Grows seq's block table so that it covers n_total_tokens tokens and so
  // that every block that will be written (from seq's committed token count
  // on) is held by seq alone (copy-on-write, recorded for TakePendingCopies).
  // Returns false, changing nothing, when the free blocks do not suffice.
  bool AllocateSlots(SeqId seq, int n_total_tokens);

  // Number of free blocks AllocateSlots(seq, n_total_tokens) would need.
  int BlocksNeeded(SeqId seq, int n_total_tokens) const;

  // Records that tokens[0, n_computed) of seq are computed and stored; full
  // blocks not yet registered are hashed and entered into the prefix cache.
  // tokens is the sequence's whole token list (prompt and output so far).
  void CommitTokens(SeqId seq, std::span<const TokenId> tokens, int n_computed,
                    const std::string& salt);

  // Releases seq's blocks tail first (most specific evicted first). Unknown
  // seq is a no-op.
  void Free(SeqId seq);

  // child shares all of parent's blocks (ref counts +1). REQUIRES: child new.
  Status Fork(SeqId parent, SeqId child);

  // seq's block table, block i holding tokens [i*block_size, (i+1)*block_size).
  std::span<const BlockId> BlockTable(SeqId seq) const;

  // Copies AllocateSlots decided on since the last call; the runner performs
  // them before the step.
  std::vector<BlockCopy> TakePendingCopies();

  KvStats Stats() const;

  // Aborts (KVS_CHECK) if any invariant above is broken. For tests.
  void CheckInvariants() const;

  // (implementation: private members follow)
};

}  // namespace kvs
