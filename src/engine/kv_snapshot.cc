#include "engine/kv_snapshot.h"

namespace kvs {

uint32_t TenantTag(const std::string& salt) {
  uint32_t h = 2166136261u;
  for (unsigned char c : salt) {
    h ^= c;
    h *= 16777619u;
  }
  return h == KvSnapshot::kNoTenant ? 1u : h;
}

}  // namespace kvs
