// KvEventLog: what the prefix cache stored and evicted during one engine
// step, in order, for routers that track which blocks each server holds
// (vLLM's KV events: BlockStored, BlockRemoved, AllBlocksCleared).
//
// The engine thread appends to one log while it steps; after the step the
// whole log goes to a KvEventSink (another thread encodes and sends it) in
// exchange for an empty one. Appending does not allocate once the vectors
// have grown to a step's worth of events (Clear keeps their capacity).
// Consecutive stored blocks of one chain merge into one event, and
// consecutive removals into one, as vLLM batches them.
//
// Ownership: a log is owned by whoever holds its unique_ptr; the KV manager
// borrows the current one. Thread-safety: none; one thread at a time.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "base/ids.h"
#include "kv/block_hash.h"

namespace kvs {

enum class KvEventKind : uint8_t { kStored, kRemoved, kAllCleared };

struct KvEvent {
  KvEventKind kind = KvEventKind::kStored;
  bool has_parent = false;  // kStored: false for a chain's first block
  BlockHash parent;         // kStored: the hash of the block before the first
  uint32_t first_hash = 0;  // [first_hash, first_hash + n_hashes) in hashes()
  uint32_t n_hashes = 0;
  uint32_t first_token = 0;  // kStored: [first_token, +n_tokens) in tokens()
  uint32_t n_tokens = 0;
};

class KvEventLog {
 public:
  // A block of `tokens` became findable under `hash`; parent is the hash of
  // the block before it in its sequence (nullptr: the first block).
  void AddStored(const BlockHash* parent, const BlockHash& hash, std::span<const TokenId> tokens);
  // A cached block's hash was dropped (the block is being reused).
  void AddRemoved(const BlockHash& hash);
  // Every cached block was dropped (or, at start-up, nothing is cached).
  void AddAllCleared();

  void Clear();
  bool empty() const { return events_.empty(); }

  std::span<const KvEvent> events() const { return events_; }
  std::span<const BlockHash> hashes(const KvEvent& e) const {
    return std::span<const BlockHash>(hashes_).subspan(e.first_hash, e.n_hashes);
  }
  std::span<const TokenId> tokens(const KvEvent& e) const {
    return std::span<const TokenId>(tokens_).subspan(e.first_token, e.n_tokens);
  }

  int block_size = 0;      // tokens per block, for BlockStored
  double timestamp = 0.0;  // seconds since the Unix epoch, set when handed off

 private:
  std::vector<KvEvent> events_;
  std::vector<BlockHash> hashes_;
  std::vector<TokenId> tokens_;
};

// Takes filled logs from the engine thread. Exchange must not block for
// long or allocate in the steady state: it queues `full` and returns an
// empty log (recycled) for the next step.
class KvEventSink {
 public:
  virtual ~KvEventSink() = default;
  virtual std::unique_ptr<KvEventLog> Exchange(std::unique_ptr<KvEventLog> full) = 0;
};

}  // namespace kvs
