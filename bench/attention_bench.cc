// CpuBackend PagedAttention alone, for one decode token on the TinyLlama
// shape (32 query heads, 4 KV heads, head_dim 64, 16-position blocks) over
// 22 layers' caches, each filled up to the token's position.
//
//   build/attention_bench [--benchmark_filter=pos:512]
//
// Reports time per token (all 22 layers), the figure to set against a
// decode step; the caches (2 KiB per position per layer) do not fit in the
// L2, as in a real step where the weights stream through between layers.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <random>
#include <vector>

#include "backend/cpu/cpu_backend.h"

namespace kvs {
namespace {

constexpr int kLayers = 22, kHeads = 32, kKvHeads = 4, kHeadDim = 64, kBlock = 16;

void BM_DecodeAttention(benchmark::State& state) {
  const int32_t pos = static_cast<int32_t>(state.range(0));
  CpuBackendOptions o;
  o.n_threads = static_cast<int>(state.range(1));
  std::unique_ptr<CpuBackend> backend = std::move(CpuBackend::Create(o)).value();
  const int n_blocks = pos / kBlock + 1;
  const int64_t layer_floats = int64_t{n_blocks} * kBlock * kKvHeads * kHeadDim;
  std::mt19937 rng(1);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  std::vector<float> k(kLayers * layer_floats), v(kLayers * layer_floats), q(kHeads * kHeadDim),
      out(kHeads * kHeadDim);
  for (float& f : k) f = dist(rng);
  for (float& f : v) f = dist(rng);
  for (float& f : q) f = 3.0f * dist(rng);
  // Blocks in a shuffled order, as a block table has them after some churn.
  std::vector<int32_t> table(n_blocks);
  for (int i = 0; i < n_blocks; ++i) table[i] = i;
  std::shuffle(table.begin(), table.end(), rng);
  const int32_t* table_ptr = table.data();
  PagedAttentionArgs a;
  a.q = q.data();
  a.out = out.data();
  a.n_tokens = 1;
  a.n_heads = kHeads;
  a.n_kv_heads = kKvHeads;
  a.head_dim = kHeadDim;
  a.positions = &pos;
  a.block_tables = &table_ptr;
  a.block_size = kBlock;
  a.scale = 0.125f;
  for (auto _ : state) {
    for (int l = 0; l < kLayers; ++l) {
      a.k_cache = k.data() + l * layer_floats;
      a.v_cache = v.data() + l * layer_floats;
      backend->PagedAttention(a);
    }
    benchmark::DoNotOptimize(out.data());
  }
}

BENCHMARK(BM_DecodeAttention)
    ->ArgsProduct({{128, 512, 2048}, {1, 2}})
    ->ArgNames({"pos", "threads"})
    ->Unit(benchmark::kMicrosecond)
    ->UseRealTime();

}  // namespace
}  // namespace kvs

BENCHMARK_MAIN();
