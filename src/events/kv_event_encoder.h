// EncodeKvEventBatch: a KvEventLog as vLLM's msgpack KV-event payload.
//
// vLLM (vllm/distributed/kv_events.py) encodes with msgspec structs that are
// array_like, omit_defaults and tagged, so a batch is
//   [ts, [event, ...], data_parallel_rank]
// and each event an array led by its class name:
//   ["BlockStored", block_hashes, parent_block_hash | nil, token_ids,
//    block_size, lora_id | nil, medium]
//   ["BlockRemoved", block_hashes, medium]
//   ["AllBlocksCleared"]
// A block hash goes out as vLLM's default ExternalBlockHash
// (VLLM_KV_EVENTS_USE_INT_BLOCK_HASHES=1): the digest's last 8 bytes read
// big-endian as an unsigned 64-bit integer; or, with int_hashes off, as the
// 32 raw bytes (msgpack bin).
//
// Thread-safety: a pure function of its arguments.
#pragma once

#include <cstdint>
#include <string>

#include "kv/kv_events.h"

namespace kvs::events {

struct KvEventEncoding {
  bool int_hashes = true;
  std::string medium = "GPU";  // vLLM's MEDIUM_GPU: the engine's primary KV pool
  int data_parallel_rank = 0;
};

// vLLM's int form of a block hash.
uint64_t ExternalBlockHash(const BlockHash& hash);

// Appends the encoded batch to out (cleared first; its capacity is kept).
void EncodeKvEventBatch(const KvEventLog& log, const KvEventEncoding& encoding, std::string* out);

}  // namespace kvs::events
