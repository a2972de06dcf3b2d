// GrammarBuilder: assembles a Grammar from rules given as alternatives of
// symbol sequences, lowering repetition into helper rules, and checks what
// the matcher relies on (grammar.h's invariants) before handing it out.
//
// Rules are named; a rule may be referenced before it is defined. Helper
// rules get the name of the rule they serve plus "-N". Sizes are bounded
// (kMaxElements) so that a hostile grammar or schema cannot exhaust memory.
// Not thread-safe; one builder per grammar.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "base/status.h"
#include "grammar/grammar.h"

namespace kvs {

struct GrammarSymbol {
  GrammarElement::Kind kind = GrammarElement::Kind::kChars;
  bool negated = false;
  std::vector<CodepointRange> ranges;  // kChars
  uint32_t rule = 0;                   // kRule
};
using GrammarSequence = std::vector<GrammarSymbol>;

class GrammarBuilder {
 public:
  static constexpr int kUnbounded = -1;
  static constexpr size_t kMaxElements = 1 << 20;
  static constexpr size_t kMaxRules = 1 << 16;

  static GrammarSymbol Char(uint32_t cp);
  static GrammarSymbol Class(std::vector<CodepointRange> ranges, bool negated);
  static GrammarSymbol Ref(uint32_t rule);
  // A sequence of single code points: the UTF-8 text `s` decoded. Invalid
  // UTF-8 bytes are taken as code points 0x80-0xFF (Latin-1).
  static GrammarSequence Literal(std::string_view s);

  // The id of the rule `name`, declared now if it is new.
  uint32_t RuleId(std::string_view name);
  // A fresh helper rule named after `base`.
  uint32_t HelperRule(std::string_view base);
  // InvalidArgument if `rule` already has alternatives.
  Status Define(uint32_t rule, std::vector<GrammarSequence> alternatives);
  // A helper rule matching `item` at least `min` and at most `max` times
  // (kUnbounded: no limit). REQUIRES: 0 <= min, max == kUnbounded or min <= max.
  StatusOr<uint32_t> Repeat(const GrammarSymbol& item, int min, int max, std::string_view base);

  // The grammar rooted at `root`. Errors: a rule used but never defined, no
  // such root, left recursion (naming the rule), too large.
  StatusOr<Grammar> Build(std::string_view root) const;

 private:
  Status CheckSize();

  std::vector<std::string> names_;
  std::vector<std::vector<GrammarSequence>> alternatives_;
  std::vector<bool> defined_;
  std::unordered_map<std::string, uint32_t> ids_;
  size_t n_symbols_ = 0;
  int n_helpers_ = 0;
};

}  // namespace kvs
