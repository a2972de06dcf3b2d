// Micro-benchmarks of the KV manager: hashing per token, lookup / allocate /
// release per block, and the manager's share of a 64-sequence decode step.
//
//   cmake --build build --target kv_manager_bench && build/kv_manager_bench
//
// Figures and the machine they came from: docs/BENCHMARKS.md.
#include <benchmark/benchmark.h>

#include <numeric>
#include <string>
#include <vector>

#include "kv/block_hash.h"
#include "kv/kv_cache_manager.h"

namespace kvs {
namespace {

constexpr int kBlockSize = 16;
const std::string kSalt = "tenant-0123456789abcdef";  // a realistic salt length

std::vector<TokenId> Tokens(int n, TokenId first) {
  std::vector<TokenId> t(n);
  std::iota(t.begin(), t.end(), first);
  return t;
}

KvManagerConfig Config(int n_blocks, bool caching = true) {
  KvManagerConfig c;
  c.n_blocks = n_blocks;
  c.block_size = kBlockSize;
  c.enable_prefix_caching = caching;
  return c;
}

// SHA-256 of one full block chained to a parent; items = tokens.
void BM_HashBlock(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  BlockHasher hasher;
  const auto tokens = Tokens(n, 1000);
  BlockHash parent = hasher.Hash(nullptr, tokens, kSalt);
  for (auto _ : state) {
    parent = hasher.Hash(&parent, tokens, kSalt);
    benchmark::DoNotOptimize(parent);
  }
  state.SetItemsProcessed(state.iterations() * n);
}
BENCHMARK(BM_HashBlock)->Arg(16)->Arg(32)->Arg(64);

// A fully cached prompt of range(0) blocks (+1 token) looked up and freed
// again; items = blocks. Includes hashing every block of the prompt.
void BM_LookupHitAndFree(benchmark::State& state) {
  const int n_blocks = static_cast<int>(state.range(0));
  KvCacheManager m(Config(n_blocks + 1));
  const auto prompt = Tokens(n_blocks * kBlockSize + 1, 7);
  m.LookupPrefix(0, prompt, kSalt);
  m.AllocateSlots(0, static_cast<int>(prompt.size()));
  m.CommitTokens(0, prompt, static_cast<int>(prompt.size()), kSalt);
  m.Free(0);
  for (auto _ : state) {
    benchmark::DoNotOptimize(m.LookupPrefix(1, prompt, kSalt));
    m.Free(1);
  }
  state.SetItemsProcessed(state.iterations() * n_blocks);
}
BENCHMARK(BM_LookupHitAndFree)->Arg(8)->Arg(64);

// Allocation of range(0) fresh blocks and their release; items = blocks.
// Every reused block was cached, so each allocation also evicts a hash.
void BM_AllocateAndFree(benchmark::State& state) {
  const int n_blocks = static_cast<int>(state.range(0));
  KvCacheManager m(Config(n_blocks));
  const auto prompt = Tokens(n_blocks * kBlockSize, 7);
  m.AllocateSlots(0, static_cast<int>(prompt.size()));
  m.CommitTokens(0, prompt, static_cast<int>(prompt.size()), kSalt);
  m.Free(0);
  for (auto _ : state) {
    benchmark::DoNotOptimize(m.AllocateSlots(1, n_blocks * kBlockSize));
    m.Free(1);
  }
  state.SetItemsProcessed(state.iterations() * n_blocks);
}
BENCHMARK(BM_AllocateAndFree)->Arg(8)->Arg(64);

// The manager's work in one decode step of 64 running sequences: each
// appends one token (AllocateSlots + CommitTokens). A sequence that reaches
// kMaxLen is freed and restarts (its prompt then hits the cache), so the
// steady state includes a block becoming full (one SHA-256) every 16 steps
// per sequence, block allocation and release. Time per iteration = per step.
void BM_DecodeStep64(benchmark::State& state) {
  constexpr int kSeqs = 64;
  constexpr int kPrompt = 100;
  constexpr int kMaxLen = 1024;
  const bool caching = state.range(0) != 0;
  KvCacheManager m(Config(kSeqs * (kMaxLen / kBlockSize + 1) + 64, caching));
  std::vector<std::vector<TokenId>> tokens(kSeqs);
  std::vector<int> n_computed(kSeqs);
  auto start = [&](int s) {
    tokens[s] =
        Tokens(kPrompt + s, s * 10000);  // staggered lengths: blocks fill on different steps
    tokens[s].reserve(kMaxLen + 1);
    n_computed[s] = m.LookupPrefix(s, tokens[s], kSalt);
    m.AllocateSlots(s, static_cast<int>(tokens[s].size()));
    n_computed[s] = static_cast<int>(tokens[s].size());
    m.CommitTokens(s, tokens[s], n_computed[s], kSalt);
  };
  for (int s = 0; s < kSeqs; ++s) start(s);
  TokenId next = 1;
  for (auto _ : state) {
    for (int s = 0; s < kSeqs; ++s) {
      if (n_computed[s] >= kMaxLen) {
        m.Free(s);
        start(s);
      }
      tokens[s].push_back(next++ & 0x7fff);
      const int n = n_computed[s] + 1;
      if (!m.AllocateSlots(s, n)) state.SkipWithError("pool exhausted");
      m.CommitTokens(s, tokens[s], n, kSalt);
      n_computed[s] = n;
    }
  }
  state.SetItemsProcessed(state.iterations() * kSeqs);
}
BENCHMARK(BM_DecodeStep64)->Arg(1)->Arg(0)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace kvs

BENCHMARK_MAIN();
