// Randomized property test: random lookup / allocate / append / fork /
// release / preempt sequences over a small pool. After every step the
// manager's invariants hold and every computed token of every live sequence
// reads back its own value from a shadow KV store, which the test writes the
// way a backend would (copies first, then the step's new tokens). The shadow
// value of a token is a fingerprint of (salt, every token up to it), like a
// real K/V row that depends on the whole prefix, so a wrong cache hit, a
// missing copy-on-write, a cross-tenant hit or an overwritten cached block
// all show up as a mismatch.
#include <gtest/gtest.h>

#include <cstdio>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "kv/kv_cache_manager.h"

namespace kvs {
namespace {

constexpr int kBs = 4;
constexpr int kBlocks = 24;
const char* const kSalts[] = {"", "tenant-a", "tenant-b"};

struct SimSeq {
  std::vector<TokenId> tokens;
  std::vector<uint64_t> fp;  // fp[i]: fingerprint of salt + tokens[0..i]
  int salt = 0;
  int n_computed = 0;
  bool running = false;  // false: preempted, waiting to be looked up again
};

uint64_t Mix(uint64_t h, uint64_t v) {
  h ^= v + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
  return h * 0xff51afd7ed558ccdull;
}

class Sim {
 public:
  Sim(uint32_t seed, bool caching)
      : rng_(seed), m_(KvManagerConfig{kBlocks, kBs, caching}), shadow_(kBlocks * kBs, 0) {}

  void Run(int n_ops) {
    for (int op = 0; op < n_ops; ++op) {
      const int r = static_cast<int>(rng_() % 100);
      if (r < 20) {
        NewRequest();
      } else if (r < 65) {
        Advance();
      } else if (r < 75) {
        ForkOne();
      } else if (r < 85) {
        FinishOne();
      } else {
        Readmit();
      }
      if (::testing::Test::HasFatalFailure()) return;
      m_.CheckInvariants();
      VerifyContents();
      ASSERT_EQ(m_.Stats().blocks_used + m_.n_free_blocks(), kBlocks);
    }
    while (!seqs_.empty()) {
      m_.Free(seqs_.begin()->first);
      seqs_.erase(seqs_.begin());
      m_.CheckInvariants();
    }
    ASSERT_EQ(m_.n_free_blocks(), kBlocks);
    ASSERT_EQ(m_.Stats().blocks_used, 0);
  }

  const KvCacheManager& manager() const { return m_; }
  int64_t preemptions() const { return preemptions_; }

 private:
  TokenId RandToken() { return static_cast<TokenId>(rng_() % 6); }  // tiny vocab: many repeats

  void AppendToken(SimSeq& s, TokenId t) {
    const uint64_t prev = s.fp.empty() ? Mix(0, static_cast<uint64_t>(s.salt) + 1) : s.fp.back();
    s.tokens.push_back(t);
    s.fp.push_back(Mix(prev, static_cast<uint64_t>(t) + 7));
  }

  SeqId PickSeq(bool running) {
    std::vector<SeqId> ids;
    for (const auto& [id, s] : seqs_) {
      if (s.running == running) ids.push_back(id);
    }
    return ids.empty() ? -1 : ids[rng_() % ids.size()];
  }

  void Lookup(SeqId id, SimSeq& s) {
    const int hit = m_.LookupPrefix(id, s.tokens, kSalts[s.salt]);
    ASSERT_EQ(hit % kBs, 0);
    ASSERT_LT(hit, static_cast<int>(s.tokens.size()));
    ASSERT_EQ(m_.BlockTable(id).size() * kBs, static_cast<size_t>(hit));
    s.n_computed = hit;
    s.running = true;
  }

  void NewRequest() {
    if (seqs_.size() >= 8) return;
    const SeqId id = next_id_++;
    SimSeq& s = seqs_[id];
    s.salt = static_cast<int>(rng_() % 3);
    // Prompts come from a few families so that prefixes repeat.
    const int family = static_cast<int>(rng_() % 3);
    const int shared = static_cast<int>(rng_() % 13);
    for (int i = 0; i < shared; ++i) AppendToken(s, static_cast<TokenId>((family * 7 + i) % 6));
    const int own = 1 + static_cast<int>(rng_() % 8);
    for (int i = 0; i < own; ++i) AppendToken(s, RandToken());
    Lookup(id, s);
  }

  void Readmit() {
    const SeqId id = PickSeq(false);
    if (id >= 0) Lookup(id, seqs_[id]);
  }

  void Advance() {
    const SeqId id = PickSeq(true);
    if (id < 0) return;
    SimSeq& s = seqs_[id];
    int n_new;
    if (s.n_computed < static_cast<int>(s.tokens.size())) {
      n_new = std::min(static_cast<int>(s.tokens.size()) - s.n_computed,
                       1 + static_cast<int>(rng_() % 6));  // chunked prefill
    } else {
      AppendToken(s, RandToken());  // decode: the sampled token joins the sequence
      n_new = 1;
    }
    const int n_total = s.n_computed + n_new;
    const std::vector<BlockId> before(m_.BlockTable(id).begin(), m_.BlockTable(id).end());
    const int free_before = m_.n_free_blocks();
    const int needed = m_.BlocksNeeded(id, n_total);
    if (!m_.AllocateSlots(id, n_total)) {
      ASSERT_GT(needed, free_before);
      ASSERT_EQ(m_.n_free_blocks(), free_before);
      ASSERT_EQ(std::vector<BlockId>(m_.BlockTable(id).begin(), m_.BlockTable(id).end()), before);
      m_.Free(id);  // preempt (recompute later)
      s.running = false;
      s.n_computed = 0;
      ++preemptions_;
      return;
    }
    ASSERT_LE(needed, free_before);
    ASSERT_EQ(m_.n_free_blocks(), free_before - needed);
    for (const BlockCopy& c : m_.TakePendingCopies()) {
      for (int j = 0; j < kBs; ++j) shadow_[c.dst * kBs + j] = shadow_[c.src * kBs + j];
    }
    const auto table = m_.BlockTable(id);
    ASSERT_EQ(table.size(), static_cast<size_t>((n_total + kBs - 1) / kBs));
    for (int p = s.n_computed; p < n_total; ++p) {
      const BlockId b = table[p / kBs];
      ASSERT_EQ(m_.BlockRefCount(b), 1) << "write into a shared block";
      ASSERT_FALSE(m_.IsBlockCached(b)) << "write into a cached block";
      shadow_[b * kBs + p % kBs] = s.fp[p];
    }
    s.n_computed = n_total;
    m_.CommitTokens(id, s.tokens, n_total, kSalts[s.salt]);
  }

  void ForkOne() {
    const SeqId id = PickSeq(true);
    if (id < 0 || seqs_.size() >= 8) return;
    const SeqId child = next_id_++;
    ASSERT_TRUE(m_.Fork(id, child).ok());
    seqs_[child] = seqs_[id];
  }

  void FinishOne() {
    const SeqId id = rng_() % 2 ? PickSeq(true) : PickSeq(false);
    if (id < 0) return;
    m_.Free(id);
    seqs_.erase(id);
  }

  void VerifyContents() {
    for (const auto& [id, s] : seqs_) {
      if (!s.running) {
        ASSERT_TRUE(m_.BlockTable(id).empty());
        continue;
      }
      const auto table = m_.BlockTable(id);
      for (int p = 0; p < s.n_computed; ++p) {
        ASSERT_EQ(shadow_[table[p / kBs] * kBs + p % kBs], s.fp[p])
            << "seq " << id << " token " << p << " reads someone else's KV";
      }
    }
  }

  std::mt19937 rng_;
  KvCacheManager m_;
  std::vector<uint64_t> shadow_;  // [kBlocks * kBs] what each KV slot holds
  std::map<SeqId, SimSeq> seqs_;
  SeqId next_id_ = 0;
  int64_t preemptions_ = 0;
};

TEST(KvCacheManagerPropertyTest, RandomOperationsKeepInvariants) {
  KvStats total;
  int64_t preemptions = 0;
  for (uint32_t seed = 1; seed <= 300; ++seed) {
    Sim sim(seed, /*caching=*/true);
    sim.Run(400);
    if (HasFatalFailure()) return;
    const KvStats st = sim.manager().Stats();
    total.prefix_hit_tokens += st.prefix_hit_tokens;
    total.evictions += st.evictions;
    total.cow_copies += st.cow_copies;
    preemptions += sim.preemptions();
  }
  std::printf("hit tokens %lld, evictions %lld, cow copies %lld, preemptions %lld\n",
              static_cast<long long>(total.prefix_hit_tokens),
              static_cast<long long>(total.evictions), static_cast<long long>(total.cow_copies),
              static_cast<long long>(preemptions));
  // The random walk must actually have exercised every mechanism.
  EXPECT_GT(total.prefix_hit_tokens, 1000);
  EXPECT_GT(total.evictions, 1000);
  EXPECT_GT(total.cow_copies, 100);
  EXPECT_GT(preemptions, 100);
}

TEST(KvCacheManagerPropertyTest, RandomOperationsWithoutCaching) {
  for (uint32_t seed = 1000; seed < 1050; ++seed) {
    Sim sim(seed, /*caching=*/false);
    sim.Run(400);
    if (HasFatalFailure()) return;
    EXPECT_EQ(sim.manager().Stats().prefix_hit_tokens, 0);
  }
}

}  // namespace
}  // namespace kvs
