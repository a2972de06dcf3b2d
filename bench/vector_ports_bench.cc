// Which AVX-512 instructions compete with vpdpbusd for the same execution
// port: what bounds the int8 tiles (docs/BENCHMARKS.md, "The multiply port,
// and the panel tile in passes"). Each benchmark times an inline-assembly
// loop of 16 independent vpdpbusd alone and with 4 independent X added, the
// two alternating, and reports their ratio: 1.00 where X runs beside
// vpdpbusd, 1.25 where X takes the same port for a cycle (as one more
// vpdpbusd would). Needs AVX-512 VNNI and BF16 to run; skips elsewhere.
//
//   build/vector_ports_bench
#include <benchmark/benchmark.h>

#include <chrono>

namespace kvs {
namespace {

#define KVS_V(n) "vpdpbusd %%zmm30, %%zmm31, %%zmm" #n "\n\t"
#define KVS_V16                                                                                         \
  KVS_V(0) KVS_V(1) KVS_V(2) KVS_V(3) KVS_V(4) KVS_V(5) KVS_V(6) KVS_V(7) KVS_V(8) KVS_V(9) KVS_V(10) \
      KVS_V(11) KVS_V(12) KVS_V(13) KVS_V(14) KVS_V(15)
// Four independent X, each on its own register (16..19): op "src, src2, dst".
#define KVS_X4(op) op " %%zmm16\n\t" op " %%zmm17\n\t" op " %%zmm18\n\t" op " %%zmm19\n\t"

// Seconds for `iters` runs of the loop body `body`.
#define KVS_TIME_LOOP(body, iters, out)                                                                  \
  do {                                                                                                    \
    long n = (iters);                                                                                     \
    const auto t0 = std::chrono::steady_clock::now();                                                     \
    asm volatile("vpxord %%zmm30, %%zmm30, %%zmm30\n\tvpxord %%zmm31, %%zmm31, %%zmm31\n\t"               \
                 "1:\n\t" body "dec %0\n\tjnz 1b"                                                         \
                 : "+r"(n)                                                                                \
                 :                                                                                        \
                 : "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", \
                   "xmm11", "xmm12", "xmm13", "xmm14", "xmm15", "xmm16", "xmm17", "xmm18", "xmm19",       \
                   "xmm30", "xmm31", "memory");                                                           \
    (out) += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();               \
  } while (0)

// The loops in a function compiled for AVX-512, whose registers 16-31 the
// assembly may name (the benchmark's own code is built for any x86-64).
#define KVS_PORT_BENCH(name, op)                                                                \
  __attribute__((target("avx512f"))) void name##Loops(long iters, double* alone, double* with) { \
    KVS_TIME_LOOP(KVS_V16, iters, *alone);                                                      \
    KVS_TIME_LOOP(KVS_V16 KVS_X4(op), iters, *with);                                            \
  }                                                                                             \
  void name(benchmark::State& state) {                                                          \
    if (!__builtin_cpu_supports("avx512vnni") || !__builtin_cpu_supports("avx512bf16")) {       \
      state.SkipWithError("needs AVX-512 VNNI and BF16");                                       \
      return;                                                                                   \
    }                                                                                           \
    double alone = 0, with = 0;                                                                 \
    for (auto _ : state) name##Loops(1 << 20, &alone, &with);                                   \
    state.counters["with/alone"] = with / alone;                                                \
  }                                                                                             \
  BENCHMARK(name)->Unit(benchmark::kMillisecond)->MinTime(0.5)

KVS_PORT_BENCH(BM_Vpdpbusd, "vpdpbusd %%zmm30, %%zmm31,");
KVS_PORT_BENCH(BM_Vpmaddwd, "vpmaddwd %%zmm30, %%zmm31,");
KVS_PORT_BENCH(BM_Vdpbf16ps, "vdpbf16ps %%zmm30, %%zmm31,");
KVS_PORT_BENCH(BM_Vfmadd231ps, "vfmadd231ps %%zmm30, %%zmm31,");
KVS_PORT_BENCH(BM_Vmulps, "vmulps %%zmm30, %%zmm31,");
KVS_PORT_BENCH(BM_Vaddps, "vaddps %%zmm30, %%zmm31,");
KVS_PORT_BENCH(BM_Vcvtdq2ps, "vcvtdq2ps %%zmm30,");
KVS_PORT_BENCH(BM_Vpaddd, "vpaddd %%zmm30, %%zmm31,");
KVS_PORT_BENCH(BM_Vpsrlw, "vpsrlw $4, %%zmm30,");
KVS_PORT_BENCH(BM_Vpandd, "vpandd %%zmm30, %%zmm31,");
KVS_PORT_BENCH(BM_Vpternlogd, "vpternlogd $0xF8, %%zmm30, %%zmm31,");
KVS_PORT_BENCH(BM_Vpshufb, "vpshufb %%zmm30, %%zmm31,");
KVS_PORT_BENCH(BM_Vpermps, "vpermps %%zmm30, %%zmm31,");
KVS_PORT_BENCH(BM_Vgf2p8affineqb, "vgf2p8affineqb $0, %%zmm30, %%zmm31,");
KVS_PORT_BENCH(BM_Vpmultishiftqb, "vpmultishiftqb %%zmm30, %%zmm31,");

}  // namespace
}  // namespace kvs

BENCHMARK_MAIN();
