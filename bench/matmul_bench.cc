// CpuBackend MatMul alone, on TinyLlama-sized weight matrices (random
// values, real shapes), to separate the kernels from the rest of a step.
//
//   build/matmul_bench [--benchmark_filter=Q4_0]
//   KVS_BENCH_ISA=avx2 build/matmul_bench ...   (pin the kernel path)
//
// Reports bytes of weights read per second (decode, n = 1: the figure to
// hold against the read bandwidth `kvserve bench` prints) and multiply-adds
// per second (n = 64).
// Each matrix is 32 MiB or more so that decode reads it from DRAM, as in a
// real step.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <random>
#include <vector>

#include "backend/cpu/cpu_backend.h"
#include "tensor/quant.h"

namespace kvs {
namespace {

// The kernel path KVS_BENCH_ISA names (scalar, avx2, avx512, amx), or the
// best this CPU runs when it is unset; an unknown name aborts the run.
std::optional<cpu::Isa> PinnedIsa() {
  const char* name = std::getenv("KVS_BENCH_ISA");
  if (name == nullptr) return std::nullopt;
  const std::optional<cpu::Isa> isa = cpu::IsaFromName(name);
  if (!isa || !cpu::IsaSupported(*isa)) {
    std::fprintf(stderr, "KVS_BENCH_ISA=%s: not a kernel path this CPU runs\n", name);
    std::exit(2);
  }
  return isa;
}

struct Setup {
  std::unique_ptr<CpuBackend> backend;
  std::vector<uint8_t> file;
  PreparedWeights prepared;
  std::vector<float> x, out;
};

// rows x cols weights of type t in the file's layout: 64 random N(0, 0.02)
// rows, repeated (speed depends on the shapes, not the values).
std::vector<uint8_t> RandomRows(DType t, int64_t rows, int64_t cols, std::mt19937& rng) {
  std::normal_distribution<float> dist(0.0f, 0.02f);
  const int64_t rb = RowBytes(t, cols);
  std::vector<float> row(cols);
  std::vector<uint8_t> file(rows * rb);
  for (int64_t r = 0; r < std::min<int64_t>(rows, 64); ++r) {
    for (float& v : row) v = dist(rng);
    QuantizeRow(t, row.data(), file.data() + r * rb, cols);
  }
  for (int64_t r = 64; r < rows; ++r) std::memcpy(file.data() + r * rb, file.data() + (r % 64) * rb, rb);
  return file;
}

// rows x cols weights of type t; n activation rows.
Setup Make(DType t, int64_t rows, int64_t cols, int64_t n, int threads, bool vnni = false) {
  Setup s;
  CpuBackendOptions o;
  o.n_threads = threads;
  o.isa = vnni ? std::optional(cpu::Isa::kAvx512) : PinnedIsa();
  s.backend = std::move(CpuBackend::Create(o)).value();
  std::mt19937 rng(1);
  std::normal_distribution<float> dist(0.0f, 0.02f);
  s.file = RandomRows(t, rows, cols, rng);
  WeightMatrix w{t, rows, cols, s.file.data()};
  s.prepared = s.backend->PrepareWeights({&w, 1});
  s.x.resize(n * cols);
  for (float& v : s.x) v = dist(rng) * 50.0f;
  s.out.resize(n * rows);
  return s;
}

void BM_MatMul(benchmark::State& state, DType t) {
  const int64_t rows = state.range(0), cols = state.range(4), n = state.range(1);
  const int threads = static_cast<int>(state.range(2));
  // vnni = 1: the AVX-512 VNNI kernels where the best path is AMX (the
  // anchor for the tiles' prefill); skipped where AMX is absent.
  const bool vnni = state.range(3) != 0;
  if (vnni && cpu::BestIsa() != cpu::Isa::kAmx) {
    state.SkipWithError("no AMX: the best path is already the VNNI one");
    return;
  }
  Setup s = Make(t, rows, cols, n, threads, vnni);
  for (auto _ : state) {
    s.backend->MatMul(s.prepared.matrices[0], s.x.data(), n, s.out.data());
    benchmark::DoNotOptimize(s.out.data());
  }
  state.counters["GB/s"] = benchmark::Counter(static_cast<double>(rows * RowBytes(t, cols)),
                                              benchmark::Counter::kIsIterationInvariantRate);
  state.counters["GMAC/s"] = benchmark::Counter(static_cast<double>(rows * cols * n) * 1e-9,
                                                benchmark::Counter::kIsIterationInvariantRate);
}

// {rows, n, threads, vnni, cols}: a 131072-row matrix (decode, from DRAM),
// 2048 rows (decode from L3) and 256 (from L2: what the decode kernel
// itself can do when memory is not the limit),
// the FFN up projection (5632 x 2048) over 512, 64, 32, 16 and 8 tokens
// (prefill, batched decode) and FFN down (2048 x 5632, whose activation
// rows are 2.75x longer) over 512, each also on the VNNI kernels where AMX
// is the default.
void Args(benchmark::internal::Benchmark* b) {
  for (int threads : {1, 2}) {
    b->Args({131072, 1, threads, 0, 2048});
    b->Args({2048, 1, threads, 0, 2048});
    b->Args({256, 1, threads, 0, 2048});
    for (int vnni : {0, 1}) {
      b->Args({5632, 512, threads, vnni, 2048});
      b->Args({2048, 512, threads, vnni, 5632});
      b->Args({5632, 64, threads, vnni, 2048});
      b->Args({5632, 32, threads, vnni, 2048});
      b->Args({5632, 16, threads, vnni, 2048});
      b->Args({5632, 8, threads, vnni, 2048});
    }
  }
  b->ArgNames({"rows", "n", "threads", "vnni", "cols"})->Unit(benchmark::kMillisecond)->UseRealTime();
}

BENCHMARK_CAPTURE(BM_MatMul, F16, DType::kF16)->Apply(Args);
BENCHMARK_CAPTURE(BM_MatMul, Q8_0, DType::kQ8_0)->Apply(Args);
BENCHMARK_CAPTURE(BM_MatMul, Q4_0, DType::kQ4_0)->Apply(Args);
BENCHMARK_CAPTURE(BM_MatMul, Q4_K, DType::kQ4_K)->Apply(Args);
BENCHMARK_CAPTURE(BM_MatMul, Q4_1, DType::kQ4_1)->Apply(Args);
BENCHMARK_CAPTURE(BM_MatMul, Q5_0, DType::kQ5_0)->Apply(Args);
BENCHMARK_CAPTURE(BM_MatMul, Q5_1, DType::kQ5_1)->Apply(Args);
BENCHMARK_CAPTURE(BM_MatMul, IQ4_NL, DType::kIQ4_NL)->Apply(Args);
BENCHMARK_CAPTURE(BM_MatMul, Q2_K, DType::kQ2_K)->Apply(Args);
BENCHMARK_CAPTURE(BM_MatMul, Q3_K, DType::kQ3_K)->Apply(Args);
BENCHMARK_CAPTURE(BM_MatMul, Q5_K, DType::kQ5_K)->Apply(Args);
BENCHMARK_CAPTURE(BM_MatMul, IQ4_XS, DType::kIQ4_XS)->Apply(Args);
BENCHMARK_CAPTURE(BM_MatMul, Q6_K, DType::kQ6_K)->Apply(Args);
BENCHMARK_CAPTURE(BM_MatMul, BF16, DType::kBF16)->Apply(Args);

// The decode step's matrices alone: every MatMul of a TinyLlama-shaped
// token (22 layers of QKV, output, gate/up and down, then the classifier),
// each its own memory, one after another as DecoderForward runs them, with
// nothing between them. Set against BM_MatMul's one large matrix it shows
// what the real shapes cost: each call restarts its four streams, and the
// 2 MiB to 13 MiB matrices are short ones. prefetch: the kernels' software
// prefetch distance (CpuBackendOptions::prefetch_bytes; 0 none, the choice
// on AMD cores; 4096 elsewhere): the A/B behind cpu::SoftwarePrefetchBytes.
void BM_DecodeMatMuls(benchmark::State& state, DType t) {
  const int threads = static_cast<int>(state.range(0));
  struct Shape {
    int64_t rows, cols;
  };
  std::vector<Shape> shapes;
  for (int l = 0; l < 22; ++l) {
    shapes.insert(shapes.end(), {{2560, 2048}, {2048, 2048}, {11264, 2048}, {2048, 5632}});
  }
  shapes.push_back({32000, 2048});
  CpuBackendOptions o;
  o.n_threads = threads;
  o.prefetch_bytes = state.range(1);
  o.isa = PinnedIsa();
  auto backend = std::move(CpuBackend::Create(o)).value();
  std::mt19937 rng(1);
  std::normal_distribution<float> dist(0.0f, 0.02f);
  std::vector<std::vector<uint8_t>> files;
  std::vector<WeightMatrix> ws;
  for (const Shape& sh : shapes) {
    files.push_back(RandomRows(t, sh.rows, sh.cols, rng));
    ws.push_back({t, sh.rows, sh.cols, files.back().data()});
  }
  PreparedWeights prepared = backend->PrepareWeights(ws);
  files.clear();
  std::vector<float> x(5632), out(32000);
  for (float& v : x) v = dist(rng) * 50.0f;
  int64_t bytes = 0;
  for (const WeightMatrix& w : prepared.matrices) bytes += w.rows * w.row_bytes();
  for (auto _ : state) {
    for (const WeightMatrix& w : prepared.matrices) backend->MatMul(w, x.data(), 1, out.data());
    benchmark::DoNotOptimize(out.data());
  }
  state.counters["GB/s"] = benchmark::Counter(static_cast<double>(bytes),
                                              benchmark::Counter::kIsIterationInvariantRate);
}
void DecodeArgs(benchmark::internal::Benchmark* b) {
  b->ArgsProduct({{1, 2}, {0, 4096}})->ArgNames({"threads", "prefetch"})->Unit(benchmark::kMillisecond)->UseRealTime();
}
BENCHMARK_CAPTURE(BM_DecodeMatMuls, F16, DType::kF16)->Apply(DecodeArgs);
BENCHMARK_CAPTURE(BM_DecodeMatMuls, BF16, DType::kBF16)->Apply(DecodeArgs);
BENCHMARK_CAPTURE(BM_DecodeMatMuls, Q8_0, DType::kQ8_0)->Apply(DecodeArgs);
BENCHMARK_CAPTURE(BM_DecodeMatMuls, Q4_0, DType::kQ4_0)->Apply(DecodeArgs);
BENCHMARK_CAPTURE(BM_DecodeMatMuls, Q4_1, DType::kQ4_1)->Apply(DecodeArgs);
BENCHMARK_CAPTURE(BM_DecodeMatMuls, Q5_0, DType::kQ5_0)->Apply(DecodeArgs);
BENCHMARK_CAPTURE(BM_DecodeMatMuls, Q5_1, DType::kQ5_1)->Apply(DecodeArgs);
BENCHMARK_CAPTURE(BM_DecodeMatMuls, IQ4_NL, DType::kIQ4_NL)->Apply(DecodeArgs);
BENCHMARK_CAPTURE(BM_DecodeMatMuls, IQ4_XS, DType::kIQ4_XS)->Apply(DecodeArgs);
BENCHMARK_CAPTURE(BM_DecodeMatMuls, Q2_K, DType::kQ2_K)->Apply(DecodeArgs);
BENCHMARK_CAPTURE(BM_DecodeMatMuls, Q3_K, DType::kQ3_K)->Apply(DecodeArgs);
BENCHMARK_CAPTURE(BM_DecodeMatMuls, Q4_K, DType::kQ4_K)->Apply(DecodeArgs);
BENCHMARK_CAPTURE(BM_DecodeMatMuls, Q5_K, DType::kQ5_K)->Apply(DecodeArgs);
BENCHMARK_CAPTURE(BM_DecodeMatMuls, Q6_K, DType::kQ6_K)->Apply(DecodeArgs);

// The decode ceiling's read loop (CpuBackend::MeasureReadBandwidth, the
// better of its two patterns over 1 GiB), so that a filter can set the
// matrices above against it in the same minute. Unlike kvserve bench, which
// runs the plain pattern over 4 KiB pages, both patterns read one huge-page
// buffer here.
void BM_ReadBandwidth(benchmark::State& state) {
  CpuBackendOptions o;
  o.n_threads = static_cast<int>(state.range(0));
  o.isa = PinnedIsa();
  auto backend = std::move(CpuBackend::Create(o)).value();
  constexpr int64_t kBytes = int64_t{1} << 30;
  HugePageBuffer buf = AllocateHugePages(kBytes, /*zero=*/false);
  std::memset(buf.get(), 1, kBytes);
  double best = 0;
  for (auto _ : state) {
    best = std::max({best, backend->MeasureReadBandwidth(buf.get(), kBytes, 1, false),
                     backend->MeasureReadBandwidth(buf.get(), kBytes, 1, true)});
  }
  state.counters["GB/s"] = best * 1e9;
}
BENCHMARK(BM_ReadBandwidth)->Apply(DecodeArgs);

}  // namespace
}  // namespace kvs

BENCHMARK_MAIN();
