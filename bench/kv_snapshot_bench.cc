// The KV dashboard's cost on the engine thread: one Engine::FillKvSnapshot
// (state byte and tenant per block, counters) with 64 sequences holding
// blocks, and the copy a reader makes. EngineLoop does this at most every
// 200 ms while busy.
//
//   cmake --build build --target kv_snapshot_bench && build/kv_snapshot_bench
//
// Figures: docs/BENCHMARKS.md ("KV dashboard").
#include <benchmark/benchmark.h>

#include <string>

#include "engine/testing_engine_harness.h"

namespace kvs {
namespace {

// An engine whose pool of n_blocks (of 4 tokens) is about half held by 64
// running sequences with a shared 64-token prefix per tenant (4 tenants).
std::unique_ptr<testing::EngineHarness> BusyEngine(int n_blocks) {
  testing::FakeEngineOptions o;
  o.n_blocks = n_blocks;
  o.max_context = 4096;
  o.config.max_running = 64;
  o.config.max_batched_tokens = 1 << 20;
  auto h = std::make_unique<testing::EngineHarness>(o);
  const int prompt_len = std::min(2000, n_blocks * 4 / 2 / 64);
  for (int i = 0; i < 64; ++i) {
    std::vector<TokenId> prompt = testing::RandomPrompt(prompt_len, 1 + i % 4);
    for (int k = 64; k < prompt_len; ++k) prompt[k] = TokenId(3 + (i * 7 + k) % 500);
    GenerationRequest r = testing::Greedy(std::move(prompt), 1000);
    r.cache_salt = "tenant-" + std::to_string(i % 4);
    h->Submit(std::move(r));
  }
  for (int s = 0; s < 3; ++s) KVS_CHECK(h->engine().Step().ok());
  return h;
}

void BM_FillKvSnapshot(benchmark::State& state) {
  auto h = BusyEngine(static_cast<int>(state.range(0)));
  KvSnapshot snap;
  for (auto _ : state) {
    h->engine().FillKvSnapshot(&snap);
    benchmark::DoNotOptimize(snap.states.data());
  }
  state.counters["blocks_used"] = static_cast<double>(snap.stats.kv_blocks_used);
  state.counters["running"] = static_cast<double>(snap.stats.requests_running);
}
BENCHMARK(BM_FillKvSnapshot)->Arg(512)->Arg(8192)->Arg(65536)->Unit(benchmark::kMicrosecond);

void BM_CopyKvSnapshot(benchmark::State& state) {
  auto h = BusyEngine(static_cast<int>(state.range(0)));
  KvSnapshot snap;
  h->engine().FillKvSnapshot(&snap);
  for (auto _ : state) {
    KvSnapshot copy = snap;
    benchmark::DoNotOptimize(copy.states.data());
  }
}
BENCHMARK(BM_CopyKvSnapshot)->Arg(512)->Arg(8192)->Arg(65536)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace kvs

BENCHMARK_MAIN();
