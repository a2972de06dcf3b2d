#include "grammar/grammar_matcher.h"

#include <algorithm>
#include <cstring>

#include "grammar/utf8.h"

namespace kvs {

using Kind = GrammarElement::Kind;

namespace {

// The code points a UTF-8 sequence with `length` continuation bytes may
// encode: shortest form only (no overlong encodings such as C0 A0 for a
// space), nothing past U+10FFFF.
constexpr uint32_t kMinCodePoint[4] = {0, 0x80, 0x800, 0x10000};
constexpr uint32_t kMaxCodePoint = 0x10FFFF;

bool IsSurrogate(uint32_t cp) { return cp >= 0xD800 && cp <= 0xDFFF; }

}  // namespace

GrammarMatcher::GrammarMatcher(std::shared_ptr<GrammarCache> cache)
    : cache_(std::move(cache)), g_(&cache_->grammar()) {
  work_.push_back(0);
  // The root's alternatives, each expanded: the start state.
  for (uint32_t alt : g_->rules[g_->root]) {
    work_.back() = alt;
    Expand(&state_);
  }
  work_.clear();
}

GrammarMatcher::GrammarMatcher(const Grammar* grammar, size_t max_dfa_states)
    : GrammarMatcher(std::make_shared<GrammarCache>(grammar, max_dfa_states)) {}

void GrammarMatcher::AddStack(State* out) {
  for (size_t i = 0; i < out->n_stacks(); ++i) {
    const std::span<const uint32_t> s = out->stack(i);
    if (s.size() == work_.size() && std::equal(s.begin(), s.end(), work_.begin())) return;
  }
  if (out->n_stacks() >= kMaxStacks) {
    overflow_ = true;
    return;
  }
  out->data.insert(out->data.end(), work_.begin(), work_.end());
  out->ends.push_back(static_cast<uint32_t>(out->data.size()));
}

void GrammarMatcher::Expand(State* out) {
  if (work_.empty()) {
    AddStack(out);
    return;
  }
  const uint32_t pos = work_.back();
  const GrammarElement& e = g_->elements[pos];
  if (e.kind == Kind::kChars) {
    AddStack(out);
    return;
  }
  if (e.kind == Kind::kEnd) {  // the rule is done: continue in its caller
    work_.pop_back();
    Expand(out);
    work_.push_back(pos);
    return;
  }
  // A rule reference: its caller continues after it, unless nothing follows
  // (then the return address would only be popped again).
  const bool tail = g_->elements[pos + 1].kind == Kind::kEnd;
  if (tail) {
    work_.pop_back();
  } else {
    work_.back() = pos + 1;
  }
  for (uint32_t alt : g_->rules[e.rule]) {
    work_.push_back(alt);
    Expand(out);
    work_.pop_back();
  }
  if (tail) {
    work_.push_back(pos);
  } else {
    work_.back() = pos;
  }
}

void GrammarMatcher::Advance(const State& in, uint32_t cp, State* out) {
  out->Clear();
  for (size_t i = 0; i < in.n_stacks(); ++i) {
    const std::span<const uint32_t> s = in.stack(i);
    if (s.empty() || !g_->Matches(s.back(), cp)) continue;
    work_.assign(s.begin(), s.end());
    work_.back() = s.back() + 1;
    Expand(out);
  }
}

bool GrammarMatcher::PartialFits(const State& s) const {
  const int bits = 6 * s.remaining;
  const uint32_t lo = std::max(s.partial << bits, kMinCodePoint[s.length]);
  const uint32_t hi = std::min(((s.partial << bits) | ((uint32_t{1} << bits) - 1)), kMaxCodePoint);
  if (lo > hi || (IsSurrogate(lo) && IsSurrogate(hi))) return false;
  for (size_t i = 0; i < s.n_stacks(); ++i) {
    const std::span<const uint32_t> st = s.stack(i);
    if (!st.empty() && g_->MatchesSome(st.back(), lo, hi)) return true;
  }
  return false;
}

bool GrammarMatcher::Step(const State& in, uint8_t byte, State* out) {
  overflow_ = false;
  uint32_t value;
  int remaining;
  int length = in.length;
  if (in.remaining == 0) {
    if (byte < 0x80) {
      Advance(in, byte, out);
      return out->n_stacks() > 0 && !overflow_;
    }
    remaining = Utf8Continuations(byte);
    if (remaining < 0) return false;  // a continuation byte or 0xF8-0xFF where a code point starts
    value = byte & (0x3F >> remaining);
    length = remaining;
  } else {
    if ((byte & 0xC0) != 0x80) return false;
    value = (in.partial << 6) | (byte & 0x3F);
    remaining = in.remaining - 1;
    if (remaining == 0) {
      if (value < kMinCodePoint[length] || value > kMaxCodePoint || IsSurrogate(value))
        return false;
      Advance(in, value, out);
      return out->n_stacks() > 0 && !overflow_;
    }
  }
  out->data.assign(in.data.begin(), in.data.end());
  out->ends.assign(in.ends.begin(), in.ends.end());
  out->partial = value;
  out->remaining = remaining;
  out->length = length;
  return PartialFits(*out);
}

bool GrammarMatcher::Accept(std::string_view bytes) {
  State a = state_;
  for (char c : bytes) {
    if (!Step(a, static_cast<uint8_t>(c), &scratch_)) return false;
    std::swap(a, scratch_);
  }
  state_ = std::move(a);
  return true;
}

bool GrammarMatcher::IsComplete() const {
  if (state_.remaining != 0) return false;
  for (size_t i = 0; i < state_.n_stacks(); ++i) {
    if (state_.stack(i).empty()) return true;
  }
  return false;
}

bool GrammarMatcher::CanContinue() const {
  for (size_t i = 0; i < state_.n_stacks(); ++i) {
    if (!state_.stack(i).empty()) return true;
  }
  return false;
}

int32_t GrammarMatcher::Next(int32_t id, uint8_t byte) {
  const int32_t known = cache_->transition(id, byte);
  if (known != GrammarCache::kUnknown) return known;
  if (!Step(cache_->state(id), byte, &scratch_)) return cache_->transition(id, byte) = kDead;
  const int32_t n = cache_->Intern(scratch_);  // may grow the table: look the slot up again
  if (n != kNoRoom) cache_->transition(id, byte) = n;
  return n;
}
void GrammarMatcher::Walk(const TokenTrie& trie, uint32_t node, size_t depth,
                          std::span<uint64_t> allowed) {
  const TokenTrie::Node& n = trie.nodes()[node];
  for (uint32_t c = n.first_child; c < n.first_child + n.n_children; ++c) {
    const TokenTrie::Node& child = trie.nodes()[c];
    Level& next = levels_[depth + 1];
    const int32_t from = levels_[depth].id;
    const int32_t to = from >= 0 ? Next(from, child.byte) : kNoRoom;
    if (to == kDead) continue;
    if (to == kNoRoom) {
      const State& in = from >= 0 ? cache_->state(from) : levels_[depth].state;
      if (!Step(in, child.byte, &next.state)) continue;
    }
    next.id = to == kNoRoom ? -1 : to;
    for (uint32_t t = child.first_token; t < child.first_token + child.n_tokens; ++t) {
      const auto id = static_cast<uint32_t>(trie.tokens()[t]);
      allowed[id / 64] |= uint64_t{1} << (id % 64);
    }
    if (child.n_children > 0) Walk(trie, c, depth + 1, allowed);
  }
}

void GrammarMatcher::FillMask(const TokenTrie& trie, std::span<uint64_t> allowed) {
  ++masks_computed_;
  std::string key = state_.Key();
  const std::vector<uint64_t>* cached = cache_->FindMask(key);
  if (cached != nullptr && cached->size() == allowed.size()) {
    ++masks_cached_;
    std::copy(cached->begin(), cached->end(), allowed.begin());
    return;
  }
  std::fill(allowed.begin(), allowed.end(), 0);
  if (levels_.size() < trie.max_depth() + 1) levels_.resize(trie.max_depth() + 1);
  if (cache_->full()) cache_->ClearDfa();
  levels_[0].id = cache_->Intern(state_);
  if (levels_[0].id == kNoRoom) levels_[0].state = state_;
  Walk(trie, 0, 0, allowed);
  cache_->AddMask(std::move(key), std::vector<uint64_t>(allowed.begin(), allowed.end()));
}

}  // namespace kvs
