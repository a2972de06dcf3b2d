// EngineConfig and EngineStats: the engine's knobs and its counters.
#pragma once

#include <cstdint>
#include <string>

#include "kv/block_hash.h"

namespace kvs {

struct EngineConfig {
  int max_batched_tokens = 512;  // token budget per step (chunked prefill splits prompts)
  int max_running = 64;          // running requests at most
  int max_waiting = 1024;        // queued requests at most; Submit rejects past it
  bool enable_prefix_caching = true;
  bool enable_chunked_prefill = true;  // off: a prompt is scheduled whole or not at all
  // EngineLoop publishes a KvSnapshot at most this often while busy (and
  // once each time it goes idle); 0: after every step (tests).
  int kv_snapshot_interval_ms = 200;
  // How prefix-cache blocks are named (kv/block_hash.h): kSha256Cbor is
  // vLLM's sha256_cbor, which a router can recompute from token ids.
  PrefixHashAlgo prefix_hash = PrefixHashAlgo::kNative;
  std::string prefix_hash_seed = std::string(kDefaultNoneHashSeed);
};

// A snapshot, safe to read from any thread after EngineLoop::Stats().
struct EngineStats {
  int64_t requests_running = 0;
  int64_t requests_waiting = 0;
  int64_t requests_finished = 0;
  int64_t prompt_tokens = 0;
  int64_t generated_tokens = 0;
  int64_t prefix_cache_queried_tokens = 0;
  int64_t prefix_cache_hit_tokens = 0;
  int64_t preemptions = 0;
  int64_t kv_blocks_total = 0;
  int64_t kv_blocks_used = 0;
  int64_t peak_kv_blocks_used = 0;
  int64_t kv_tokens_used = 0;  // token slots holding computed tokens (blocks in use)
  int64_t kv_block_size = 0;
  int64_t steps = 0;
};

}  // namespace kvs
