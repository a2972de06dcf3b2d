#include "grammar/grammar_cache.h"

#include <cstring>
#include <utility>

namespace kvs {

std::span<const uint32_t> ParseState::stack(size_t i) const {
  const uint32_t begin = i == 0 ? 0 : ends[i - 1];
  return {data.data() + begin, ends[i] - begin};
}

void ParseState::Clear() {
  data.clear();
  ends.clear();
  partial = 0;
  remaining = 0;
  length = 0;
}

std::string ParseState::Key() const {
  std::string key(sizeof(uint32_t) * (2 + ends.size() + data.size()), '\0');
  char* p = key.data();
  const uint32_t head[2] = {partial, static_cast<uint32_t>(remaining | (length << 8))};
  std::memcpy(p, head, sizeof(head));
  p += sizeof(head);
  std::memcpy(p, ends.data(), ends.size() * sizeof(uint32_t));
  p += ends.size() * sizeof(uint32_t);
  std::memcpy(p, data.data(), data.size() * sizeof(uint32_t));
  return key;
}

GrammarCache::GrammarCache(std::shared_ptr<const Grammar> grammar, size_t max_dfa_states)
    : owned_(std::move(grammar)), grammar_(owned_.get()), max_dfa_states_(max_dfa_states) {}

GrammarCache::GrammarCache(const Grammar* grammar, size_t max_dfa_states)
    : grammar_(grammar), max_dfa_states_(max_dfa_states) {}

const std::vector<uint64_t>* GrammarCache::FindMask(const std::string& key) const {
  const auto it = masks_.find(key);
  return it == masks_.end() ? nullptr : &it->second;
}

void GrammarCache::AddMask(std::string key, std::vector<uint64_t> mask) {
  if (masks_.size() >= kMaxMasks) masks_.clear();
  masks_.insert_or_assign(std::move(key), std::move(mask));
}

int32_t GrammarCache::Intern(const ParseState& s) {
  std::string key = s.Key();
  const auto it = ids_.find(key);
  if (it != ids_.end()) return it->second;
  if (full()) return kNoRoom;
  const auto id = static_cast<int32_t>(states_.size());
  states_.push_back(s);
  next_.resize(next_.size() + 256, kUnknown);
  ids_.emplace(std::move(key), id);
  return id;
}

void GrammarCache::ClearDfa() {
  states_.clear();
  next_.clear();
  ids_.clear();
}

}  // namespace kvs
