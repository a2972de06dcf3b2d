// GrammarMatcher: where generation stands in a Grammar, as a set of parse
// stacks (a nondeterministic pushdown automaton over code points) plus the
// bytes of a code point not yet complete, and the token mask for the next
// step.
//
// A stack holds grammar positions (grammar.h), its top last. Stacks are
// kept expanded: each top is a character class, or the stack is empty,
// which means the whole grammar has been matched. A rule reference in
// tail position is not kept as a return address, so repetition (x*) does
// not deepen the stack and a state repeats while generation stays in the
// same place (inside a string, say). Two caches keep the mask's cost per
// step low (BENCHMARKS.md), both in a GrammarCache that every matcher of
// the grammar may share: masks by state, and a lazily built DFA: states
// met during trie walks are interned and their transitions by byte
// remembered, so a walk that stays in a few states (the inside of a
// string, where nearly every token is allowed) costs a table lookup per
// trie node instead of a stack expansion.
//
// Bounds: at most kMaxStacks stacks (an ambiguous grammar beyond it rejects
// the byte that would exceed it); the cache's own bounds (grammar_cache.h:
// beyond the DFA's, a walk goes on uncached, and the next FillMask starts a
// fresh table).
// One per request (or choice); not thread-safe, and neither is the cache
// it shares. The cache (and so the grammar) and the trie must outlive it.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "grammar/grammar.h"
#include "grammar/grammar_cache.h"
#include "grammar/token_trie.h"

namespace kvs {

class GrammarMatcher {
 public:
  static constexpr size_t kMaxStacks = 1024;

  // Shares `cache`, which holds (or points at) the grammar.
  explicit GrammarMatcher(std::shared_ptr<GrammarCache> cache);
  // A cache of its own. max_dfa_states: tests set it small to exercise the
  // uncached walk.
  explicit GrammarMatcher(const Grammar* grammar,
                          size_t max_dfa_states = GrammarCache::kMaxDfaStates);

  // Advances over `bytes` if the grammar allows all of them; otherwise
  // returns false and leaves the state as it was.
  bool Accept(std::string_view bytes);
  // The grammar is matched in full here (generation may stop).
  bool IsComplete() const;
  // Some continuation is possible (a non-empty stack).
  bool CanContinue() const;

  // Sets bit id of `allowed` (n_vocab bits, 64 per word) for every token of
  // the trie whose bytes the grammar accepts next, and clears the others.
  // REQUIRES: allowed.size() == (trie.n_vocab() + 63) / 64.
  void FillMask(const TokenTrie& trie, std::span<uint64_t> allowed);
  // Masks computed so far, and how many of those came from the cache.
  int64_t masks_computed() const { return masks_computed_; }
  int64_t masks_cached() const { return masks_cached_; }

 private:
  using State = ParseState;
  // A trie walk's position: an interned state (id >= 0) or, when the DFA
  // is full, a state of its own.
  struct Level {
    int32_t id = -1;
    State state;
  };
  static constexpr int32_t kDead = GrammarCache::kDead;
  static constexpr int32_t kNoRoom = GrammarCache::kNoRoom;

  // The DFA's transition from state `id` on `byte`: a state id, kDead or kNoRoom.
  int32_t Next(int32_t id, uint8_t byte);
  // `out` = `in` after one byte; false (out unspecified) if rejected.
  bool Step(const State& in, uint8_t byte, State* out);
  // `in` advanced over code point cp, stacks into out.
  void Advance(const State& in, uint32_t cp, State* out);
  // Pushes the expansions of `work` (its top may be a rule or an end) into out.
  void Expand(State* out);
  void AddStack(State* out);
  // Whether some stack top could match a code point beginning with the partial bytes.
  bool PartialFits(const State& s) const;
  void Walk(const TokenTrie& trie, uint32_t node, size_t depth, std::span<uint64_t> allowed);

  std::shared_ptr<GrammarCache> cache_;
  const Grammar* g_;
  State state_;
  State scratch_;
  std::vector<uint32_t> work_;  // the stack Expand is working on
  std::vector<Level> levels_;   // FillMask: the state after each byte of the trie path
  bool overflow_ = false;
  int64_t masks_computed_ = 0;
  int64_t masks_cached_ = 0;
};

}  // namespace kvs
