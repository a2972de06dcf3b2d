#include "grammar/grammar_cache_lru.h"

#include <utility>

namespace kvs {
namespace {

// FNV-1a over 32-bit words.
struct Fnv {
  uint64_t h = 14695981039346656037ull;
  void Add(uint32_t v) {
    for (int i = 0; i < 4; ++i) {
      h ^= (v >> (8 * i)) & 0xFF;
      h *= 1099511628211ull;
    }
  }
};

bool SameElement(const GrammarElement& a, const GrammarElement& b) {
  return a.kind == b.kind && a.negated == b.negated && a.rule == b.rule &&
         a.ranges_begin == b.ranges_begin && a.ranges_end == b.ranges_end;
}

}  // namespace

uint64_t GrammarFingerprint(const Grammar& g) {
  Fnv f;
  f.Add(g.root);
  f.Add(static_cast<uint32_t>(g.elements.size()));
  for (const GrammarElement& e : g.elements) {
    f.Add(static_cast<uint32_t>(e.kind) | (uint32_t{e.negated} << 8));
    f.Add(e.rule);
    f.Add(e.ranges_begin);
    f.Add(e.ranges_end);
  }
  f.Add(static_cast<uint32_t>(g.ranges.size()));
  for (const CodepointRange& r : g.ranges) {
    f.Add(r.lo);
    f.Add(r.hi);
  }
  f.Add(static_cast<uint32_t>(g.rules.size()));
  for (const auto& alts : g.rules) {
    f.Add(static_cast<uint32_t>(alts.size()));
    for (uint32_t a : alts) f.Add(a);
  }
  return f.h;
}

bool SameGrammar(const Grammar& a, const Grammar& b) {
  if (a.root != b.root || a.rules != b.rules || a.elements.size() != b.elements.size() ||
      a.ranges.size() != b.ranges.size()) {
    return false;
  }
  for (size_t i = 0; i < a.elements.size(); ++i) {
    if (!SameElement(a.elements[i], b.elements[i])) return false;
  }
  for (size_t i = 0; i < a.ranges.size(); ++i) {
    if (a.ranges[i].lo != b.ranges[i].lo || a.ranges[i].hi != b.ranges[i].hi) return false;
  }
  return true;
}

std::shared_ptr<GrammarCache> GrammarCacheLru::Get(std::shared_ptr<const Grammar> grammar) {
  const uint64_t fp = GrammarFingerprint(*grammar);
  for (auto it = entries_.begin(); it != entries_.end(); ++it) {
    if (it->fingerprint == fp && SameGrammar(it->cache->grammar(), *grammar)) {
      entries_.splice(entries_.begin(), entries_, it);
      return entries_.front().cache;
    }
  }
  entries_.push_front(Entry{fp, std::make_shared<GrammarCache>(std::move(grammar))});
  if (entries_.size() > capacity_) entries_.pop_back();
  return entries_.front().cache;
}

}  // namespace kvs
