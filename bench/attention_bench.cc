// CpuBackend PagedAttention alone, for one decode token on the TinyLlama
// shape (32 query heads, 4 KV heads, head_dim 64, 16-position blocks) over
// 22 layers' caches, each filled up to the token's position, in each KV
// cache dtype (0 F32, 1 F16, 2 BF16, 3 Q8_0).
//
//   build/attention_bench [--benchmark_filter=pos:4096]
//
// BM_DecodeAttention reports time per token (all 22 layers), the figure to
// set against a decode step; the caches (2 KiB per position per layer) do
// not fit in the L2, as in a real step where the weights stream through
// between layers. BM_PrefillAttention: one layer of a whole prompt's
// prefill, every token of one sequence at positions 0..n-1 attending to
// all before it, with its multiply-adds per second.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <random>
#include <vector>

#include "backend/cpu/cpu_backend.h"
#include "tensor/quant.h"

namespace kvs {
namespace {

constexpr int kLayers = 22, kHeads = 32, kKvHeads = 4, kHeadDim = 64, kBlock = 16;

constexpr DType kDTypes[] = {DType::kF32, DType::kF16, DType::kBF16, DType::kQ8_0};

void BM_DecodeAttention(benchmark::State& state) {
  const int32_t pos = static_cast<int32_t>(state.range(0));
  const DType dtype = kDTypes[state.range(2)];
  CpuBackendOptions o;
  o.n_threads = static_cast<int>(state.range(1));
  std::unique_ptr<CpuBackend> backend = std::move(CpuBackend::Create(o)).value();
  const int n_blocks = pos / kBlock + 1;
  const int64_t n_rows = int64_t{n_blocks} * kBlock;
  const int64_t row_bytes = KvRowBytes(dtype, kKvHeads * kHeadDim);
  const int64_t layer_bytes = n_rows * row_bytes;
  std::mt19937 rng(1);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  std::vector<uint8_t> k(kLayers * layer_bytes), v(kLayers * layer_bytes);
  std::vector<float> q(kHeads * kHeadDim), out(kHeads * kHeadDim), row(kKvHeads * kHeadDim);
  for (std::vector<uint8_t>* cache : {&k, &v}) {
    for (int64_t r = 0; r < kLayers * n_rows; ++r) {
      for (float& f : row) f = dist(rng);
      QuantizeRow(dtype, row.data(), cache->data() + r * row_bytes, kKvHeads * kHeadDim);
    }
  }
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
  a.kv_dtype = dtype;
  for (auto _ : state) {
    for (int l = 0; l < kLayers; ++l) {
      a.k_cache = k.data() + l * layer_bytes;
      a.v_cache = v.data() + l * layer_bytes;
      backend->PagedAttention(a);
    }
    benchmark::DoNotOptimize(out.data());
  }
}

BENCHMARK(BM_DecodeAttention)
    ->ArgsProduct({{128, 512, 2048, 4096}, {1, 2}, {0, 1, 2, 3}})
    ->ArgNames({"pos", "threads", "dtype"})
    ->Unit(benchmark::kMicrosecond)
    ->UseRealTime();

void BM_PrefillAttention(benchmark::State& state) {
  const int32_t n = static_cast<int32_t>(state.range(0));
  const DType dtype = kDTypes[state.range(2)];
  CpuBackendOptions o;
  o.n_threads = static_cast<int>(state.range(1));
  std::unique_ptr<CpuBackend> backend = std::move(CpuBackend::Create(o)).value();
  const int n_blocks = (n + kBlock - 1) / kBlock;
  const int64_t row_bytes = KvRowBytes(dtype, kKvHeads * kHeadDim);
  std::mt19937 rng(1);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  std::vector<uint8_t> k(int64_t{n_blocks} * kBlock * row_bytes), v(k.size());
  std::vector<float> q(int64_t{n} * kHeads * kHeadDim), out(q.size()), row(kKvHeads * kHeadDim);
  for (std::vector<uint8_t>* cache : {&k, &v}) {
    for (int64_t r = 0; r < int64_t{n_blocks} * kBlock; ++r) {
      for (float& f : row) f = dist(rng);
      QuantizeRow(dtype, row.data(), cache->data() + r * row_bytes, kKvHeads * kHeadDim);
    }
  }
  for (float& f : q) f = 3.0f * dist(rng);
  std::vector<int32_t> table(n_blocks), positions(n);
  for (int i = 0; i < n_blocks; ++i) table[i] = i;
  std::shuffle(table.begin(), table.end(), rng);
  for (int32_t i = 0; i < n; ++i) positions[i] = i;
  std::vector<const int32_t*> tables(n, table.data());
  PagedAttentionArgs a;
  a.q = q.data();
  a.out = out.data();
  a.n_tokens = n;
  a.n_heads = kHeads;
  a.n_kv_heads = kKvHeads;
  a.head_dim = kHeadDim;
  a.positions = positions.data();
  a.block_tables = tables.data();
  a.k_cache = k.data();
  a.v_cache = v.data();
  a.block_size = kBlock;
  a.scale = 0.125f;
  a.kv_dtype = dtype;
  for (auto _ : state) {
    backend->PagedAttention(a);
    benchmark::DoNotOptimize(out.data());
  }
  // Multiply-adds of scores and values: n (n + 1) / 2 positions per head.
  const double macs = 2.0 * kHeads * kHeadDim * (static_cast<double>(n) * (n + 1) / 2);
  state.counters["GMAC/s"] = benchmark::Counter(macs * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}

BENCHMARK(BM_PrefillAttention)
    ->ArgsProduct({{512, 2048}, {1, 2}, {0, 1, 2, 3}})
    ->ArgNames({"n", "threads", "dtype"})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

}  // namespace
}  // namespace kvs

BENCHMARK_MAIN();
