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

// The backend for state.range(1) threads.
std::unique_ptr<CpuBackend> Backend(const benchmark::State& state) {
  CpuBackendOptions o;
  o.n_threads = static_cast<int>(state.range(1));
  return std::move(CpuBackend::Create(o)).value();
}

// `rows` cache rows of random values in [-1, 1) stored as dtype.
std::vector<uint8_t> RandomCache(DType dtype, int64_t rows, std::mt19937& rng) {
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  const int64_t row_bytes = KvRowBytes(dtype, kKvHeads * kHeadDim);
  std::vector<uint8_t> cache(rows * row_bytes);
  std::vector<float> row(kKvHeads * kHeadDim);
  for (int64_t r = 0; r < rows; ++r) {
    for (float& f : row) f = dist(rng);
    QuantizeRow(dtype, row.data(), cache.data() + r * row_bytes, kKvHeads * kHeadDim);
  }
  return cache;
}

// n_blocks block ids in a shuffled order, as a block table has them after
// some churn.
std::vector<int32_t> ShuffledTable(int n_blocks, std::mt19937& rng) {
  std::vector<int32_t> table(n_blocks);
  for (int i = 0; i < n_blocks; ++i) table[i] = i;
  std::shuffle(table.begin(), table.end(), rng);
  return table;
}

// The TinyLlama shape's arguments for n_tokens queries q (random, scaled
// as real scores run) into out; the caller sets the positions, tables and
// cache.
PagedAttentionArgs ShapeArgs(DType dtype, int64_t n_tokens, std::vector<float>& q, std::vector<float>& out,
                             std::mt19937& rng) {
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  q.resize(n_tokens * kHeads * kHeadDim);
  for (float& f : q) f = 3.0f * dist(rng);
  out.assign(q.size(), 0.0f);
  PagedAttentionArgs a;
  a.q = q.data();
  a.out = out.data();
  a.n_tokens = n_tokens;
  a.n_heads = kHeads;
  a.n_kv_heads = kKvHeads;
  a.head_dim = kHeadDim;
  a.block_size = kBlock;
  a.scale = 0.125f;
  a.kv_dtype = dtype;
  return a;
}

void BM_DecodeAttention(benchmark::State& state) {
  const int32_t pos = static_cast<int32_t>(state.range(0));
  const DType dtype = kDTypes[state.range(2)];
  std::unique_ptr<CpuBackend> backend = Backend(state);
  const int n_blocks = pos / kBlock + 1;
  const int64_t n_rows = int64_t{n_blocks} * kBlock;
  const int64_t layer_bytes = n_rows * KvRowBytes(dtype, kKvHeads * kHeadDim);
  std::mt19937 rng(1);
  const std::vector<uint8_t> k = RandomCache(dtype, kLayers * n_rows, rng);
  const std::vector<uint8_t> v = RandomCache(dtype, kLayers * n_rows, rng);
  std::vector<float> q, out;
  PagedAttentionArgs a = ShapeArgs(dtype, 1, q, out, rng);
  const std::vector<int32_t> table = ShuffledTable(n_blocks, rng);
  const int32_t* table_ptr = table.data();
  a.positions = &pos;
  a.block_tables = &table_ptr;
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
  std::unique_ptr<CpuBackend> backend = Backend(state);
  const int n_blocks = (n + kBlock - 1) / kBlock;
  std::mt19937 rng(1);
  const std::vector<uint8_t> k = RandomCache(dtype, int64_t{n_blocks} * kBlock, rng);
  const std::vector<uint8_t> v = RandomCache(dtype, int64_t{n_blocks} * kBlock, rng);
  std::vector<float> q, out;
  PagedAttentionArgs a = ShapeArgs(dtype, n, q, out, rng);
  const std::vector<int32_t> table = ShuffledTable(n_blocks, rng);
  std::vector<int32_t> positions(n);
  for (int32_t i = 0; i < n; ++i) positions[i] = i;
  const std::vector<const int32_t*> tables(n, table.data());
  a.positions = positions.data();
  a.block_tables = tables.data();
  a.k_cache = k.data();
  a.v_cache = v.data();
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
