#include "kv/kv_events.h"

namespace kvs {

void KvEventLog::AddStored(const BlockHash* parent, const BlockHash& hash,
                           std::span<const TokenId> tokens) {
  // Extends the previous event when this block continues its chain.
  if (!events_.empty() && parent != nullptr) {
    KvEvent& last = events_.back();
    if (last.kind == KvEventKind::kStored && last.n_hashes > 0 &&
        hashes_[last.first_hash + last.n_hashes - 1] == *parent &&
        last.first_hash + last.n_hashes == hashes_.size() &&
        last.first_token + last.n_tokens == tokens_.size()) {
      hashes_.push_back(hash);
      tokens_.insert(tokens_.end(), tokens.begin(), tokens.end());
      ++last.n_hashes;
      last.n_tokens += static_cast<uint32_t>(tokens.size());
      return;
    }
  }
  KvEvent e;
  e.kind = KvEventKind::kStored;
  e.has_parent = parent != nullptr;
  if (parent != nullptr) e.parent = *parent;
  e.first_hash = static_cast<uint32_t>(hashes_.size());
  e.n_hashes = 1;
  e.first_token = static_cast<uint32_t>(tokens_.size());
  e.n_tokens = static_cast<uint32_t>(tokens.size());
  hashes_.push_back(hash);
  tokens_.insert(tokens_.end(), tokens.begin(), tokens.end());
  events_.push_back(e);
}

void KvEventLog::AddRemoved(const BlockHash& hash) {
  if (!events_.empty()) {
    KvEvent& last = events_.back();
    if (last.kind == KvEventKind::kRemoved && last.first_hash + last.n_hashes == hashes_.size()) {
      hashes_.push_back(hash);
      ++last.n_hashes;
      return;
    }
  }
  KvEvent e;
  e.kind = KvEventKind::kRemoved;
  e.first_hash = static_cast<uint32_t>(hashes_.size());
  e.n_hashes = 1;
  hashes_.push_back(hash);
  events_.push_back(e);
}

void KvEventLog::AddAllCleared() {
  KvEvent e;
  e.kind = KvEventKind::kAllCleared;
  events_.push_back(e);
}

void KvEventLog::Clear() {
  events_.clear();
  hashes_.clear();
  tokens_.clear();
  timestamp = 0.0;
}

}  // namespace kvs
