// KvSnapshot: a picture of the KV block pool and the engine's counters,
// taken on the engine thread and read by others (the web dashboard).
//
// Per block: a state byte and, for blocks in use, the tenant of the
// sequences holding it (a short hash of the request's cache salt, so the
// salt itself, which may derive from an API key, is never exposed).
// Ownership: plain values. Thread-safety: none; EngineLoop publishes a copy
// under its mutex (engine_loop.h).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "engine/engine_config.h"
#include "kv/kv_cache_manager.h"

namespace kvs {

struct KvSnapshot {
  static constexpr uint32_t kNoTenant = 0;

  std::vector<uint8_t> states;    // [n_blocks] KvBlockState
  std::vector<uint32_t> tenants;  // [n_blocks] TenantTag of a holder, kNoTenant if free
  EngineStats stats;
  int64_t sequence = 0;  // how many snapshots the engine has published before this one
};

// A stable, non-zero 32-bit tag for a cache salt (FNV-1a; "" has its own
// tag: the default tenant). Not a security boundary: only a label.
uint32_t TenantTag(const std::string& salt);

}  // namespace kvs
