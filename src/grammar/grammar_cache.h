// GrammarCache: what the matchers of one grammar learn as they go, kept
// where every matcher of that grammar finds it: the lazily built DFA over
// parse states (each state interned once, its transitions by byte
// remembered) and the token masks by state for one token trie.
//
// Both are functions of the grammar alone (and the trie, which is one per
// engine), so a request's n choices and later requests with the same
// schema share them: the first step inside a JSON string, the mask's worst
// case (BENCHMARKS.md), is paid once per grammar instead of once per
// request.
//
// Bounds: at most max_dfa_states interned states (256 transitions each;
// GrammarMatcher starts a fresh table when it is full) and kMaxMasks masks
// (then the masks start over).
// Ownership: may hold the grammar (the shared_ptr constructor) or only
// point at it (the caller keeps it alive). Not thread-safe: one thread at
// a time (the engine thread).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "grammar/grammar.h"

namespace kvs {

// Where generation stands in a grammar: parse stacks back to back (stack i
// is data[ends[i-1], ends[i]), its top last), plus the bytes of a code
// point not yet complete. GrammarMatcher's state and the DFA's states.
struct ParseState {
  std::vector<uint32_t> data;
  std::vector<uint32_t> ends;
  uint32_t partial = 0;  // bits of a code point whose UTF-8 bytes have not all arrived
  int remaining = 0;     // continuation bytes still to come
  int length = 0;        // continuation bytes of that code point in all (1-3)

  size_t n_stacks() const { return ends.size(); }
  std::span<const uint32_t> stack(size_t i) const;
  void Clear();
  // The bytes that identify the state (a hash map key).
  std::string Key() const;
};

class GrammarCache {
 public:
  static constexpr size_t kMaxDfaStates = 2048;
  static constexpr size_t kMaxMasks = 128;
  static constexpr int32_t kUnknown = -1;  // a transition not computed yet
  static constexpr int32_t kDead = -2;     // the byte is refused
  static constexpr int32_t kNoRoom = -3;   // the DFA is full

  // Keeps `grammar` alive.
  explicit GrammarCache(std::shared_ptr<const Grammar> grammar,
                        size_t max_dfa_states = kMaxDfaStates);
  // Borrows `grammar`. max_dfa_states: tests set it small to exercise the
  // uncached walk.
  explicit GrammarCache(const Grammar* grammar, size_t max_dfa_states = kMaxDfaStates);

  const Grammar& grammar() const { return *grammar_; }

  // The masks: a state's (by ParseState::Key), or null.
  const std::vector<uint64_t>* FindMask(const std::string& key) const;
  void AddMask(std::string key, std::vector<uint64_t> mask);

  // The DFA. Intern: the id of `s`, or kNoRoom. transition(id, byte): the
  // remembered next id, kUnknown or kDead.
  int32_t Intern(const ParseState& s);
  const ParseState& state(int32_t id) const { return states_[static_cast<size_t>(id)]; }
  int32_t& transition(int32_t id, uint8_t byte) {
    return next_[static_cast<size_t>(id) * 256 + byte];
  }
  bool full() const { return states_.size() >= max_dfa_states_; }
  // Forgets the DFA (the masks stay: they do not name states by id).
  void ClearDfa();

 private:
  std::shared_ptr<const Grammar> owned_;
  const Grammar* grammar_;
  size_t max_dfa_states_;
  std::vector<ParseState> states_;
  std::vector<int32_t> next_;  // [id * 256 + byte]
  std::unordered_map<std::string, int32_t> ids_;
  std::unordered_map<std::string, std::vector<uint64_t>> masks_;
};

}  // namespace kvs
