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
//  - sum of references held by sequences == sum of ref_counts; more exactly,
//    every block's ref_count is the number of block tables that hold it;
//  - blocks a sequence may still write (index >= n_computed / block_size)
//    carry no hash, and after AllocateSlots are held by that sequence alone.
//
// Protocol (what the scheduler does, and what the checks assume):
//  1. A waiting request: LookupPrefix(seq, prompt, salt) -> n_computed.
//     Then AllocateSlots(seq, n_computed + n_new). If that returns false,
//     Free(seq) (its cache hits go back, still cached) before trying again.
//  2. Each step, before building the batch: AllocateSlots(seq, n_computed +
//     n_new) for every scheduled sequence, then TakePendingCopies() for the
//     runner. BlockTable spans are taken after all AllocateSlots calls.
//  3. After the step: CommitTokens(seq, all_tokens, n_computed + n_new, salt).
//  4. Finished, aborted or preempted: Free(seq). A preempted request later
//     starts again at 1 (its blocks, if not yet evicted, make that cheap).
//  A sequence uses one salt in all calls. Running out of blocks is not an
//  error: AllocateSlots says false and the scheduler preempts.
//
// Full-prompt hit: the last full block is not taken, so the model recomputes
// that block's tokens (up to block_size of them, not just the last one): the
// cached copy must not be written. When it becomes full again its hash is
// already in the cache; the existing entry wins and the new block stays
// unregistered (see BlockPool::Register).
//
// Prefix caching off: LookupPrefix counts the lookup and its queried tokens,
// hits nothing and returns 0; CommitTokens hashes nothing.
//
// Steady-state cost: AllocateSlots and CommitTokens do not allocate memory
// except when a sequence's block table outgrows its capacity (tables are
// recycled between sequences) or a copy is recorded; one SHA-256 per block
// that becomes full.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "base/ids.h"
#include "base/status.h"
#include "kv/block_hash.h"
#include "kv/block_pool.h"
#include "kv/kv_events.h"

namespace kvs {

struct KvManagerConfig {
  int n_blocks = 0;     // total blocks in the pool
  int block_size = 16;  // tokens per block
  bool enable_prefix_caching = true;
  // How blocks are named (block_hash.h); kSha256Cbor lets a router
  // recompute the names from token ids. hash_seed: kSha256Cbor's seed.
  PrefixHashAlgo hash_algo = PrefixHashAlgo::kNative;
  std::string hash_seed = std::string(kDefaultNoneHashSeed);
};

// What a block holds, for pictures of the pool (KvCacheManager::FillBlockStates).
enum class KvBlockState : uint8_t {
  kFree = 0,    // ref count 0, holds nothing findable
  kCached = 1,  // ref count 0, still findable by hash (evictable)
  kInUse = 2,   // held by one sequence
  kShared = 3,  // held by several sequences (a shared prefix, forked choices)
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

  // Releases seq's blocks tail first (most specific evicted first). Pending
  // copies into blocks this frees are dropped (preemption after
  // AllocateSlots in the same step). Unknown seq is a no-op.
  void Free(SeqId seq);

  // child shares all of parent's blocks (ref counts +1). REQUIRES: child new.
  Status Fork(SeqId parent, SeqId child);

  // seq's block table, block i holding tokens [i*block_size, (i+1)*block_size).
  // Empty for an unknown seq. Valid until the next LookupPrefix,
  // AllocateSlots or Free of this seq.
  std::span<const BlockId> BlockTable(SeqId seq) const;

  // Copies AllocateSlots decided on since the last call; the runner performs
  // them, in order, before the step (a later copy may reuse an earlier
  // copy's source block as its destination).
  std::vector<BlockCopy> TakePendingCopies();

  KvStats Stats() const;

  // Token slots that hold computed tokens in blocks in use, each block
  // counted once (a prefix block shared by many sequences counts once).
  // tokens_held / (blocks_used * block_size) is the KV memory efficiency.
  // O(blocks in use); no allocation after the first call.
  int64_t TokensHeld() const;

  // Writes every block's state into out. O(n_blocks), no allocation.
  // REQUIRES: out.size() == n_blocks().
  void FillBlockStates(std::span<uint8_t> out) const;

  // Blocks registered in the prefix cache (BlockStored) and evicted from it
  // (BlockRemoved) are appended to log from now on; nullptr stops it. The
  // log is borrowed: it must stay alive until replaced.
  void SetEventLog(KvEventLog* log);

  // Calls fn(hash) on every block findable by hash. O(n_blocks).
  template <typename Fn>
  void ForEachCachedHash(Fn&& fn) const {
    pool_.ForEachCached([&](int32_t, const BlockHash& h) { fn(h); });
  }

  // Aborts (KVS_CHECK) if any invariant above is broken. For tests.
  void CheckInvariants() const;

  // Introspection for tests and debugging.
  bool HasSeq(SeqId seq) const { return seqs_.count(seq) != 0; }
  int BlockRefCount(BlockId block) const { return pool_.ref_count(block); }
  bool IsBlockCached(BlockId block) const { return pool_.is_cached(block); }

 private:
  struct SeqState {
    std::vector<BlockId> blocks;  // block table
    int n_computed = 0;           // tokens [0, n_computed) are stored
    int n_hashed = 0;             // blocks [0, n_hashed) have had their hash computed
    BlockHash last_hash;          // hash of block n_hashed - 1 (chain parent)
  };

  SeqState& GetOrCreate(SeqId seq);
  // Index range [first, end) of seq's existing blocks that writing tokens up
  // to n_total_tokens touches.
  void WriteRange(const SeqState& s, int n_total_tokens, size_t* first, size_t* end) const;
  // BlocksNeeded for a known state (nullptr: a seq not seen yet).
  int BlocksNeededFor(const SeqState* s, int n_total_tokens) const;
  int NBlocksFor(int n_tokens) const { return (n_tokens + block_size_ - 1) / block_size_; }

  const int block_size_;
  const bool enable_prefix_caching_;
  BlockPool pool_;
  BlockHasher hasher_;
  std::unordered_map<SeqId, SeqState> seqs_;        // node-based: SeqState addresses are stable
  std::vector<std::vector<BlockId>> spare_tables_;  // emptied tables kept for their capacity
  std::vector<BlockCopy> pending_copies_;
  int64_t n_lookups_ = 0;
  int64_t n_queried_tokens_ = 0;
  int64_t n_hit_tokens_ = 0;
  int64_t n_cow_copies_ = 0;
  KvEventLog* event_log_ = nullptr;        // borrowed; see SetEventLog
  mutable std::vector<int> held_scratch_;  // TokensHeld: filled slots per block, zeroed after use
};

}  // namespace kvs
