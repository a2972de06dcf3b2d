// What KV events add to the engine thread: the KV manager's share of a
// 64-sequence decode step (as BM_DecodeStep64 in kv_manager_bench.cc, with
// sequences that restart, so that freed cached blocks get evicted), without
// an event log, with one (cleared after each step, as if handed off), and
// handing it to the real ZeroMQ publisher after each step (encoding and
// sending then happen on the publisher's thread, which competes for cores).
// Second argument: 0 native hashes, 1 sha256_cbor.
//
//   cmake --build build --target kv_events_bench && build/kv_events_bench
//
// Figures: docs/BENCHMARKS.md ("KV events: what they cost decode").
#include <benchmark/benchmark.h>

#include <chrono>
#include <memory>
#include <numeric>
#include <string>
#include <vector>

#include "events/kv_event_publisher.h"
#include "kv/kv_cache_manager.h"

namespace kvs {
namespace {

constexpr int kBlockSize = 16;
const std::string kSalt = "tenant-0123456789abcdef";

// mode 0: no log; 1: a log, cleared each step; 2: a log handed to the publisher.
void BM_DecodeStep64Events(benchmark::State& state) {
  constexpr int kSeqs = 64;
  constexpr int kPrompt = 100;
  constexpr int kMaxLen = 512;
  const int mode = static_cast<int>(state.range(0));
  KvManagerConfig c;
  c.n_blocks = kSeqs * (kMaxLen / kBlockSize + 1) + 64;
  c.block_size = kBlockSize;
  c.hash_algo = state.range(1) ? PrefixHashAlgo::kSha256Cbor : PrefixHashAlgo::kNative;
  KvCacheManager m(c);
  std::unique_ptr<events::KvEventPublisher> pub;
  if (mode == 2) {
    events::KvEventPublisherConfig pc;
    pc.endpoint = "tcp://127.0.0.1:*";
    pc.replay_endpoint = "tcp://127.0.0.1:*";
    auto p = events::KvEventPublisher::Create(pc);
    if (!p.ok()) {
      state.SkipWithError("publisher");
      return;
    }
    pub = std::move(p).value();
  }
  auto log = std::make_unique<KvEventLog>();
  if (mode != 0) m.SetEventLog(log.get());
  std::vector<std::vector<TokenId>> tokens(kSeqs);
  std::vector<int> n_computed(kSeqs);
  TokenId next = 1;
  auto start = [&](int s) {
    tokens[s].resize(kPrompt + s);
    for (auto& t : tokens[s]) t = next++ & 0x7fff;  // new text: new blocks, old ones evicted
    tokens[s].reserve(kMaxLen + 1);
    n_computed[s] = m.LookupPrefix(s, tokens[s], kSalt);
    m.AllocateSlots(s, static_cast<int>(tokens[s].size()));
    n_computed[s] = static_cast<int>(tokens[s].size());
    m.CommitTokens(s, tokens[s], n_computed[s], kSalt);
  };
  for (int s = 0; s < kSeqs; ++s) start(s);
  int64_t n_events = 0;
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
    if (mode != 0) {
      n_events += static_cast<int64_t>(log->events().size());
      if (mode == 2 && !log->empty()) {
        log->timestamp = 1.0;
        log = pub->Exchange(std::move(log));
        m.SetEventLog(log.get());
      }
      log->Clear();
    }
  }
  state.counters["events_per_step"] =
      benchmark::Counter(static_cast<double>(n_events) / static_cast<double>(state.iterations()));
  state.SetItemsProcessed(state.iterations() * kSeqs);
  if (pub) pub->Shutdown();
}
BENCHMARK(BM_DecodeStep64Events)->ArgsProduct({{0, 1, 2}, {0, 1}})->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace kvs

BENCHMARK_MAIN();
