// Grammar: a context-free grammar over Unicode code points, compiled to the
// flat form the matcher walks (llama.cpp's GBNF grammars have the same
// shape: rules of alternatives, each a sequence of character classes and
// rule references).
//
// Every alternative is a run of elements in `elements` ending with kEnd.
// A position in the grammar is an index into `elements`; a rule is the list
// of its alternatives' first positions. Repetition, groups and literals are
// already lowered by the builder (GrammarBuilder, gbnf.h) into rules and
// single-code-point classes.
//
// Invariants (established by GrammarBuilder::Build, relied on by the
// matcher): every kRule element names an existing rule; `root` exists; no
// rule is left-recursive, directly or through rules that can match the
// empty string, so expanding a position always terminates.
// Immutable once built; thread-safe to share.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace kvs {

struct CodepointRange {
  uint32_t lo;  // inclusive
  uint32_t hi;  // inclusive
};

struct GrammarElement {
  enum class Kind : uint8_t { kEnd, kChars, kRule };
  Kind kind = Kind::kEnd;
  bool negated = false;     // kChars: matches a code point in none of the ranges
  uint32_t rule = 0;        // kRule: index into Grammar::rules
  uint32_t ranges_begin = 0;  // kChars: [ranges_begin, ranges_end) of Grammar::ranges
  uint32_t ranges_end = 0;
};

struct Grammar {
  std::vector<GrammarElement> elements;
  std::vector<CodepointRange> ranges;
  std::vector<std::vector<uint32_t>> rules;  // rule -> first position of each alternative
  std::vector<std::string> rule_names;       // for error messages
  uint32_t root = 0;

  // REQUIRES: elements[pos].kind == kChars.
  bool Matches(uint32_t pos, uint32_t cp) const;
  // Whether the class at `pos` accepts some code point in [lo, hi]: the
  // matcher's test for a code point whose UTF-8 bytes have not all arrived.
  bool MatchesSome(uint32_t pos, uint32_t lo, uint32_t hi) const;
};

}  // namespace kvs
