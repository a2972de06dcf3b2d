// Engine::FillKvSnapshot: the dashboard's picture of the pool.
#include "engine/engine.h"

namespace kvs {

void Engine::FillKvSnapshot(KvSnapshot* out) const {
  const size_t n = static_cast<size_t>(kv_.n_blocks());
  out->states.resize(n);
  out->tenants.assign(n, KvSnapshot::kNoTenant);
  kv_.FillBlockStates(out->states);
  // A shared block shows the tenant of whichever holder comes last: blocks
  // are shared only within a tenant (the salt is in the hash), forks aside.
  for (const auto& [id, r] : requests_) {
    const std::span<const BlockId> table = kv_.BlockTable(id);
    if (table.empty()) continue;
    const uint32_t tag = TenantTag(r->cache_salt());
    for (BlockId b : table) out->tenants[b] = tag;
  }
  out->stats = Stats();
}

}  // namespace kvs
