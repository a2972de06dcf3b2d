#include "grammar/grammar_builder.h"

#include <functional>

#include "grammar/utf8.h"

namespace kvs {

GrammarSymbol GrammarBuilder::Char(uint32_t cp) {
  GrammarSymbol s;
  s.ranges = {{cp, cp}};
  return s;
}

GrammarSymbol GrammarBuilder::Class(std::vector<CodepointRange> ranges, bool negated) {
  GrammarSymbol s;
  s.negated = negated;
  s.ranges = std::move(ranges);
  return s;
}

GrammarSymbol GrammarBuilder::Ref(uint32_t rule) {
  GrammarSymbol s;
  s.kind = GrammarElement::Kind::kRule;
  s.rule = rule;
  return s;
}

GrammarSequence GrammarBuilder::Literal(std::string_view s) {
  GrammarSequence out;
  for (size_t i = 0; i < s.size();) {
    uint32_t cp;
    const int len = DecodeUtf8(s, i, &cp);
    out.push_back(Char(len > 0 ? cp : static_cast<uint8_t>(s[i])));
    i += len > 0 ? len : 1;
  }
  return out;
}

uint32_t GrammarBuilder::RuleId(std::string_view name) {
  const auto it = ids_.find(std::string(name));
  if (it != ids_.end()) return it->second;
  const auto id = static_cast<uint32_t>(names_.size());
  names_.emplace_back(name);
  alternatives_.emplace_back();
  defined_.push_back(false);
  ids_.emplace(std::string(name), id);
  return id;
}

uint32_t GrammarBuilder::HelperRule(std::string_view base) {
  std::string name;
  do {
    name = std::string(base) + "-" + std::to_string(++n_helpers_);
  } while (ids_.count(name) != 0);
  return RuleId(name);
}

Status GrammarBuilder::CheckSize() {
  if (n_symbols_ > kMaxElements || names_.size() > kMaxRules) {
    return ResourceExhaustedError("grammar too large: more than " + std::to_string(kMaxElements) +
                                  " symbols or " + std::to_string(kMaxRules) + " rules");
  }
  return Status::Ok();
}

Status GrammarBuilder::Define(uint32_t rule, std::vector<GrammarSequence> alternatives) {
  if (defined_[rule]) return InvalidArgumentError("grammar rule '" + names_[rule] + "' defined twice");
  for (const GrammarSequence& seq : alternatives) n_symbols_ += seq.size() + 1;
  defined_[rule] = true;
  alternatives_[rule] = std::move(alternatives);
  return CheckSize();
}

StatusOr<uint32_t> GrammarBuilder::Repeat(const GrammarSymbol& item, int min, int max,
                                          std::string_view base) {
  // The optional tail first: x* is T ::= x T | (empty); x{0,k} nests k
  // optionals, O_k ::= x O_{k-1} | (empty), so that each count has one parse.
  const uint32_t result = HelperRule(base);
  GrammarSequence head(static_cast<size_t>(min), item);
  if (max == kUnbounded) {
    const uint32_t tail = HelperRule(base);
    KVS_RETURN_IF_ERROR(Define(tail, {{item, Ref(tail)}, {}}));
    head.push_back(Ref(tail));
  } else if (max > min) {
    uint32_t inner = 0;
    for (int k = 1; k <= max - min; ++k) {
      const uint32_t opt = HelperRule(base);
      GrammarSequence once{item};
      if (k > 1) once.push_back(Ref(inner));
      KVS_RETURN_IF_ERROR(Define(opt, {once, {}}));
      inner = opt;
    }
    head.push_back(Ref(inner));
  }
  KVS_RETURN_IF_ERROR(Define(result, {head}));
  return result;
}

StatusOr<Grammar> GrammarBuilder::Build(std::string_view root) const {
  const size_t n = names_.size();
  for (size_t r = 0; r < n; ++r) {
    if (!defined_[r]) return InvalidArgumentError("grammar rule '" + names_[r] + "' is used but not defined");
  }
  const auto root_it = ids_.find(std::string(root));
  if (root_it == ids_.end()) return InvalidArgumentError("grammar has no rule '" + std::string(root) + "'");

  // Rules that can match the empty string (a fixed point).
  std::vector<bool> nullable(n, false);
  for (bool changed = true; changed;) {
    changed = false;
    for (size_t r = 0; r < n; ++r) {
      if (nullable[r]) continue;
      for (const GrammarSequence& seq : alternatives_[r]) {
        bool all = true;
        for (const GrammarSymbol& s : seq) {
          all = all && s.kind == GrammarElement::Kind::kRule && nullable[s.rule];
        }
        if (all) {
          nullable[r] = changed = true;
          break;
        }
      }
    }
  }
  // Left recursion: a cycle among "r can start with s" edges.
  std::vector<int> color(n, 0);  // 0 new, 1 on the path, 2 done
  std::string cycle;
  std::function<bool(uint32_t)> visit = [&](uint32_t r) {
    color[r] = 1;
    for (const GrammarSequence& seq : alternatives_[r]) {
      for (const GrammarSymbol& s : seq) {
        if (s.kind != GrammarElement::Kind::kRule) break;
        if (color[s.rule] == 1) {
          cycle = names_[s.rule];
          return false;
        }
        if (color[s.rule] == 0 && !visit(s.rule)) return false;
        if (!nullable[s.rule]) break;
      }
    }
    color[r] = 2;
    return true;
  };
  for (uint32_t r = 0; r < n; ++r) {
    if (color[r] == 0 && !visit(r)) {
      return InvalidArgumentError("grammar rule '" + cycle +
                                  "' is left-recursive (it can begin with itself)");
    }
  }

  Grammar g;
  g.root = root_it->second;
  g.rule_names = names_;
  g.rules.resize(n);
  for (size_t r = 0; r < n; ++r) {
    for (const GrammarSequence& seq : alternatives_[r]) {
      g.rules[r].push_back(static_cast<uint32_t>(g.elements.size()));
      for (const GrammarSymbol& s : seq) {
        GrammarElement e;
        e.kind = s.kind;
        e.negated = s.negated;
        e.rule = s.rule;
        e.ranges_begin = static_cast<uint32_t>(g.ranges.size());
        g.ranges.insert(g.ranges.end(), s.ranges.begin(), s.ranges.end());
        e.ranges_end = static_cast<uint32_t>(g.ranges.size());
        g.elements.push_back(e);
      }
      g.elements.push_back(GrammarElement{});  // kEnd
    }
  }
  return g;
}

}  // namespace kvs
