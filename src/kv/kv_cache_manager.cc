#include "kv/kv_cache_manager.h"

#include <algorithm>
#include <utility>

#include "base/check.h"

namespace kvs {
namespace {

// Emptied block tables kept for reuse; beyond this many, capacity is not
// worth holding on to.
constexpr size_t kMaxSpareTables = 1024;

}  // namespace

KvCacheManager::KvCacheManager(const KvManagerConfig& config)
    : block_size_(config.block_size),
      enable_prefix_caching_(config.enable_prefix_caching),
      pool_(config.n_blocks),
      hasher_(config.hash_algo, config.hash_seed) {
  KVS_CHECK(config.block_size > 0 && config.n_blocks >= 0)
      << "bad KvManagerConfig: n_blocks " << config.n_blocks << ", block_size " << config.block_size
      << " (validate the config in main)";
}

int KvCacheManager::block_size() const { return block_size_; }
int KvCacheManager::n_blocks() const { return pool_.n_blocks(); }
int KvCacheManager::n_free_blocks() const { return pool_.n_free(); }

KvCacheManager::SeqState& KvCacheManager::GetOrCreate(SeqId seq) {
  auto [it, inserted] = seqs_.try_emplace(seq);
  if (inserted && !spare_tables_.empty()) {
    it->second.blocks = std::move(spare_tables_.back());
    spare_tables_.pop_back();
  }
  return it->second;
}

int KvCacheManager::LookupPrefix(SeqId seq, std::span<const TokenId> tokens,
                                 const std::string& salt) {
  ++n_lookups_;
  n_queried_tokens_ += static_cast<int64_t>(tokens.size());
  SeqState& s = GetOrCreate(seq);
  KVS_CHECK(s.blocks.empty() && s.n_computed == 0)
      << "LookupPrefix on seq " << seq << " which holds blocks; Free it first";
  if (!enable_prefix_caching_ || tokens.empty()) return 0;
  // At most n-1 tokens may hit, so the model still computes the last token.
  const size_t max_blocks = (tokens.size() - 1) / block_size_;
  for (size_t i = 0; i < max_blocks; ++i) {
    const BlockHash h = hasher_.Hash(i == 0 ? nullptr : &s.last_hash,
                                     tokens.subspan(i * block_size_, block_size_), salt);
    const int32_t block = pool_.FindCached(h);
    if (block == BlockPool::kNoBlock) break;
    pool_.Acquire(block);
    s.blocks.push_back(block);
    s.last_hash = h;
  }
  s.n_hashed = static_cast<int>(s.blocks.size());
  s.n_computed = s.n_hashed * block_size_;
  n_hit_tokens_ += s.n_computed;
  return s.n_computed;
}

void KvCacheManager::WriteRange(const SeqState& s, int n_total_tokens, size_t* first,
                                size_t* end) const {
  *first = static_cast<size_t>(s.n_computed / block_size_);
  *end = std::min(s.blocks.size(), static_cast<size_t>(NBlocksFor(n_total_tokens)));
  if (n_total_tokens <= s.n_computed) *end = *first;  // nothing will be written
}

int KvCacheManager::BlocksNeededFor(const SeqState* s, int n_total_tokens) const {
  if (s == nullptr) return NBlocksFor(n_total_tokens);
  int n = std::max(0, NBlocksFor(n_total_tokens) - static_cast<int>(s->blocks.size()));
  size_t first, end;
  WriteRange(*s, n_total_tokens, &first, &end);
  for (size_t i = first; i < end; ++i) n += pool_.ref_count(s->blocks[i]) > 1 ? 1 : 0;
  return n;
}

int KvCacheManager::BlocksNeeded(SeqId seq, int n_total_tokens) const {
  const auto it = seqs_.find(seq);
  return BlocksNeededFor(it == seqs_.end() ? nullptr : &it->second, n_total_tokens);
}

bool KvCacheManager::AllocateSlots(SeqId seq, int n_total_tokens) {
  // One map lookup on the hot path; the state is created only on success.
  const auto it = seqs_.find(seq);
  SeqState* found = it == seqs_.end() ? nullptr : &it->second;
  if (BlocksNeededFor(found, n_total_tokens) > pool_.n_free()) return false;
  SeqState& s = found != nullptr ? *found : GetOrCreate(seq);
  size_t first, end;
  WriteRange(s, n_total_tokens, &first, &end);
  for (size_t i = first; i < end; ++i) {
    const BlockId shared = s.blocks[i];
    if (pool_.ref_count(shared) == 1) continue;
    // Copy-on-write: the other holders keep the original, this seq writes
    // into its own copy.
    const BlockId copy = pool_.Allocate();
    pending_copies_.push_back({shared, copy});
    pool_.Release(shared);
    s.blocks[i] = copy;
    ++n_cow_copies_;
  }
  const size_t n_needed = static_cast<size_t>(NBlocksFor(n_total_tokens));
  while (s.blocks.size() < n_needed) s.blocks.push_back(pool_.Allocate());
  return true;
}

void KvCacheManager::CommitTokens(SeqId seq, std::span<const TokenId> tokens, int n_computed,
                                  const std::string& salt) {
  const auto it = seqs_.find(seq);
  KVS_CHECK(it != seqs_.end()) << "CommitTokens on unknown seq " << seq;
  SeqState& s = it->second;
  KVS_CHECK(n_computed >= s.n_computed && static_cast<size_t>(n_computed) <= tokens.size() &&
            n_computed <= static_cast<int>(s.blocks.size()) * block_size_)
      << "seq " << seq << ": commit of " << n_computed << " tokens (had " << s.n_computed << ", "
      << tokens.size() << " tokens, " << s.blocks.size() << " blocks): AllocateSlots first";
  for (int i = s.n_computed / block_size_; i < NBlocksFor(n_computed); ++i) {
    KVS_CHECK_EQ(pool_.ref_count(s.blocks[i]), 1)
        << "seq " << seq << " wrote into shared block " << s.blocks[i]
        << " without AllocateSlots (copy-on-write) first";
  }
  s.n_computed = n_computed;
  if (!enable_prefix_caching_) return;
  const int n_full = n_computed / block_size_;
  for (int i = s.n_hashed; i < n_full; ++i) {
    const std::span<const TokenId> block_tokens =
        tokens.subspan(static_cast<size_t>(i) * block_size_, block_size_);
    const BlockHash parent = s.last_hash;
    s.last_hash = hasher_.Hash(i == 0 ? nullptr : &parent, block_tokens, salt);
    // A false return (prefix already cached in another block) leaves this
    // block unregistered; the chain still continues from its hash.
    if (pool_.Register(s.blocks[i], s.last_hash) && event_log_ != nullptr) {
      event_log_->AddStored(i == 0 ? nullptr : &parent, s.last_hash, block_tokens);
    }
  }
  s.n_hashed = std::max(s.n_hashed, n_full);
}

void KvCacheManager::Free(SeqId seq) {
  const auto it = seqs_.find(seq);
  if (it == seqs_.end()) return;
  std::vector<BlockId>& blocks = it->second.blocks;
  // Tail first: the most specific blocks reach the free list first, so they
  // are evicted before the shared prefixes they extend.
  for (auto b = blocks.rbegin(); b != blocks.rend(); ++b) {
    pool_.Release(*b);
    // A copy recorded this step into a block nobody holds any more (the seq
    // was preempted right after AllocateSlots) must not run: the block may be
    // handed to another sequence before the runner performs the copies.
    if (!pending_copies_.empty() && pool_.ref_count(*b) == 0) {
      std::erase_if(pending_copies_, [b](const BlockCopy& c) { return c.dst == *b; });
    }
  }
  if (spare_tables_.size() < kMaxSpareTables) {
    blocks.clear();
    spare_tables_.push_back(std::move(blocks));
  }
  seqs_.erase(it);
}

Status KvCacheManager::Fork(SeqId parent, SeqId child) {
  const auto it = seqs_.find(parent);
  if (it == seqs_.end()) return NotFoundError("Fork: unknown parent seq " + std::to_string(parent));
  if (seqs_.count(child) != 0) {
    return FailedPreconditionError("Fork: child seq " + std::to_string(child) + " exists");
  }
  const SeqState& p = it->second;  // stable: unordered_map nodes do not move
  SeqState& c = GetOrCreate(child);
  c.blocks.assign(p.blocks.begin(), p.blocks.end());
  c.n_computed = p.n_computed;
  c.n_hashed = p.n_hashed;
  c.last_hash = p.last_hash;
  for (BlockId b : c.blocks) pool_.Acquire(b);
  return Status::Ok();
}

void KvCacheManager::SetEventLog(KvEventLog* log) {
  event_log_ = log;
  pool_.set_event_log(log);
  if (log != nullptr) log->block_size = block_size_;
}

std::span<const BlockId> KvCacheManager::BlockTable(SeqId seq) const {
  const auto it = seqs_.find(seq);
  if (it == seqs_.end()) return {};
  return it->second.blocks;
}

std::vector<BlockCopy> KvCacheManager::TakePendingCopies() {
  return std::exchange(pending_copies_, {});
}

KvStats KvCacheManager::Stats() const {
  KvStats st;
  st.blocks_total = pool_.n_blocks();
  st.blocks_used = pool_.n_blocks() - pool_.n_free();
  st.blocks_cached_free = pool_.n_cached_free();
  st.prefix_lookups = n_lookups_;
  st.prefix_queried_tokens = n_queried_tokens_;
  st.prefix_hit_tokens = n_hit_tokens_;
  st.evictions = pool_.n_evictions();
  st.cow_copies = n_cow_copies_;
  return st;
}

int64_t KvCacheManager::TokensHeld() const {
  held_scratch_.resize(pool_.n_blocks(), 0);
  for (const auto& [id, s] : seqs_) {
    for (size_t i = 0; i < s.blocks.size(); ++i) {
      const int filled =
          std::clamp(s.n_computed - static_cast<int>(i) * block_size_, 0, block_size_);
      int& slot = held_scratch_[s.blocks[i]];
      slot = std::max(slot, filled);
    }
  }
  int64_t total = 0;
  for (const auto& [id, s] : seqs_) {
    for (BlockId b : s.blocks) {
      total += held_scratch_[b];
      held_scratch_[b] = 0;
    }
  }
  return total;
}

void KvCacheManager::FillBlockStates(std::span<uint8_t> out) const {
  KVS_CHECK_EQ(static_cast<int>(out.size()), pool_.n_blocks()) << "one state per block";
  for (int b = 0; b < pool_.n_blocks(); ++b) {
    const int refs = pool_.ref_count(b);
    KvBlockState st = refs > 1             ? KvBlockState::kShared
                      : refs == 1          ? KvBlockState::kInUse
                      : pool_.is_cached(b) ? KvBlockState::kCached
                                           : KvBlockState::kFree;
    out[b] = static_cast<uint8_t>(st);
  }
}

void KvCacheManager::CheckInvariants() const {
  pool_.CheckInvariants();
  std::vector<int> refs(pool_.n_blocks(), 0);
  for (const auto& [seq, s] : seqs_) {
    KVS_CHECK_LE(s.n_computed, static_cast<int>(s.blocks.size()) * block_size_)
        << "seq " << seq << " computed tokens outside its blocks";
    KVS_CHECK_LE(s.n_hashed, s.n_computed / block_size_)
        << "seq " << seq << " hashed a partial block";
    if (enable_prefix_caching_) {
      KVS_CHECK_EQ(s.n_hashed, s.n_computed / block_size_)
          << "seq " << seq << " full block unhashed";
    }
    for (size_t i = 0; i < s.blocks.size(); ++i) {
      const BlockId b = s.blocks[i];
      KVS_CHECK(b >= 0 && b < pool_.n_blocks()) << "seq " << seq << " holds bad block " << b;
      ++refs[b];
      if (static_cast<int>(i) >= s.n_computed / block_size_) {
        KVS_CHECK(!pool_.is_cached(b))
            << "seq " << seq << " may write block " << b << " which is findable by hash";
      }
    }
  }
  for (int b = 0; b < pool_.n_blocks(); ++b) {
    KVS_CHECK_EQ(refs[b], pool_.ref_count(b)) << "ref count of block " << b;
  }
}

}  // namespace kvs
