#include "router/placement.h"

#include <algorithm>

namespace kvs::router {
namespace {

// FNV-1a, then a 64-bit finalizer (splitmix64's) so that nearby keys spread.
uint64_t Hash(const std::string& s, uint64_t seed) {
  uint64_t h = 1469598103934665603ull ^ seed;
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

uint64_t Mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

// The highest rendezvous score among eligible workers within slack of the
// least loaded; -1 when none is eligible.
template <typename Eligible>
int Pick(const std::vector<WorkerView>& views, uint64_t key, int64_t slack, Eligible eligible) {
  int64_t min_load = INT64_MAX;
  for (size_t i = 0; i < views.size(); ++i) {
    if (eligible(views[i])) min_load = std::min(min_load, views[i].load);
  }
  int best = -1;
  uint64_t best_score = 0;
  for (size_t i = 0; i < views.size(); ++i) {
    const WorkerView& w = views[i];
    if (!eligible(w) || w.load > min_load + slack) continue;
    const uint64_t score = Mix(key ^ Hash(w.name, 0));
    if (best < 0 || score > best_score) {
      best = static_cast<int>(i);
      best_score = score;
    }
  }
  return best;
}

}  // namespace

uint64_t PrefixKey(const std::string& tenant, const std::string& prompt_head) {
  return Mix(Hash(prompt_head, Hash(tenant, 0)));
}

PlacementChoice Place(const std::vector<WorkerView>& decode, const std::vector<WorkerView>& prefill,
                      uint64_t key, int64_t slack) {
  PlacementChoice c;
  auto usable = [](const WorkerView& w) { return w.up && !w.excluded; };
  c.decode = Pick(decode, key, slack,
                  [&](const WorkerView& w) { return usable(w) && w.kv_free >= kMinKvFree; });
  if (c.decode < 0) c.decode = Pick(decode, key, slack, usable);  // all nearly full
  if (c.decode < 0) return c;
  const std::vector<std::string>& linked = decode[c.decode].linked;
  c.prefill = Pick(prefill, Mix(key), slack, [&](const WorkerView& w) {
    return w.up && !w.excluded && std::find(linked.begin(), linked.end(), w.name) != linked.end();
  });
  return c;
}

}  // namespace kvs::router
