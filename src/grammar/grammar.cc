#include "grammar/grammar.h"

namespace kvs {

bool Grammar::Matches(uint32_t pos, uint32_t cp) const {
  const GrammarElement& e = elements[pos];
  bool in = false;
  for (uint32_t i = e.ranges_begin; i < e.ranges_end && !in; ++i) {
    in = ranges[i].lo <= cp && cp <= ranges[i].hi;
  }
  return in != e.negated;
}

bool Grammar::MatchesSome(uint32_t pos, uint32_t lo, uint32_t hi) const {
  const GrammarElement& e = elements[pos];
  if (!e.negated) {
    for (uint32_t i = e.ranges_begin; i < e.ranges_end; ++i) {
      if (ranges[i].lo <= hi && lo <= ranges[i].hi) return true;
    }
    return false;
  }
  // Negated: some code point of [lo, hi] lies outside every range. Walk up
  // from lo past ranges that cover it; the classes are small, so the
  // quadratic scan is cheap.
  uint32_t cp = lo;
  for (bool moved = true; moved;) {
    moved = false;
    for (uint32_t i = e.ranges_begin; i < e.ranges_end; ++i) {
      if (ranges[i].lo <= cp && cp <= ranges[i].hi) {
        if (ranges[i].hi >= hi) return false;
        cp = ranges[i].hi + 1;
        moved = true;
      }
    }
  }
  return cp <= hi;
}

}  // namespace kvs
