// GrammarCacheLru: the engine's GrammarCaches by grammar, so that requests
// whose grammars are equal (the same JSON schema or tool list compiles to
// the same Grammar) share one cache, the most recent `capacity` of them.
//
// Grammars are compared by content (a fingerprint, then in full), not by
// pointer: every request brings its own compiled copy. A cache dropped
// from the LRU lives on in the matchers that still hold it.
// Not thread-safe: the engine thread's.
#pragma once

#include <cstdint>
#include <list>
#include <memory>

#include "grammar/grammar.h"
#include "grammar/grammar_cache.h"

namespace kvs {

class GrammarCacheLru {
 public:
  explicit GrammarCacheLru(size_t capacity) : capacity_(capacity > 0 ? capacity : 1) {}

  // The cache of a grammar equal to `grammar` (made, and the least recently
  // used dropped, when there is none). REQUIRES: grammar != nullptr.
  std::shared_ptr<GrammarCache> Get(std::shared_ptr<const Grammar> grammar);
  size_t size() const { return entries_.size(); }

 private:
  struct Entry {
    uint64_t fingerprint;
    std::shared_ptr<GrammarCache> cache;
  };
  size_t capacity_;
  std::list<Entry> entries_;  // most recently used first; a handful, so a scan
};

// A hash of the grammar's content (elements, ranges, rules, root; not the
// rule names).
uint64_t GrammarFingerprint(const Grammar& g);
// Equal content, as GrammarFingerprint reads it.
bool SameGrammar(const Grammar& a, const Grammar& b);

}  // namespace kvs
