#include "backend/cpu/isa.h"

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

namespace kvs::cpu {
namespace {

#if defined(__x86_64__) || defined(__i386__)
// F16C and BMI2 straight from CPUID: clang's __builtin_cpu_supports does not
// know "f16c". (AVX state saving by the OS is covered by the "avx2" check.)
bool HasF16cAndBmi2() {
  unsigned a, b, c, d;
  if (!__get_cpuid(1, &a, &b, &c, &d) || (c & bit_F16C) == 0) return false;
  if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return false;
  return (b & bit_BMI2) != 0;
}

// AMX-BF16, AMX-TILE and AMX-INT8 (CPUID 7.0 EDX bits 22, 24, 25; every
// CPU with one has all three so far), and Linux's leave to use the tile
// data state, which a process must ask for once before its first tile
// instruction (arch_prctl ARCH_REQ_XCOMP_PERM, Linux 5.16+); asking again is
// harmless.
bool HasAmx() {
  unsigned a, b, c, d;
  if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return false;
  if ((d & (1u << 22)) == 0 || (d & (1u << 24)) == 0 || (d & (1u << 25)) == 0) return false;
  constexpr int kArchReqXcompPerm = 0x1023;
  constexpr int kXfeatureXtiledata = 18;
  return syscall(SYS_arch_prctl, kArchReqXcompPerm, kXfeatureXtiledata) == 0;
}
#endif

// The kernel choices below that rest on measurements go by vendor.
bool IsAmd() {
#if defined(__x86_64__) || defined(__i386__)
  unsigned a, b, c, d;
  if (!__get_cpuid(0, &a, &b, &c, &d)) return false;
  constexpr unsigned kAuth = 0x68747541, kEnti = 0x69746e65, kCamd = 0x444d4163;  // "AuthenticAMD"
  return b == kAuth && d == kEnti && c == kCamd;
#else
  return false;
#endif
}

}  // namespace

bool IsaSupported(Isa isa) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init();
  switch (isa) {
    case Isa::kScalar: return true;
    case Isa::kAvx2:
      return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
             HasF16cAndBmi2();
    case Isa::kAvx512:
      return IsaSupported(Isa::kAvx2) && __builtin_cpu_supports("avx512f") &&
             __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl") &&
             __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vnni");
    case Isa::kAmx: return IsaSupported(Isa::kAvx512) && HasAvx512Bf16() && HasAmx();
  }
  return false;
#else
  return isa == Isa::kScalar;
#endif
}

bool HasAvx512Bf16() {
#if defined(__x86_64__) || defined(__i386__)
  return IsaSupported(Isa::kAvx512) && __builtin_cpu_supports("avx512bf16");  // it ran cpu_init
#else
  return false;
#endif
}

Isa BestIsa() {
  if (IsaSupported(Isa::kAmx)) return Isa::kAmx;
  if (IsaSupported(Isa::kAvx512)) return Isa::kAvx512;
  if (IsaSupported(Isa::kAvx2)) return Isa::kAvx2;
  return Isa::kScalar;
}

std::string_view IsaName(Isa isa) {
  switch (isa) {
    case Isa::kScalar: return "scalar";
    case Isa::kAvx2: return "avx2";
    case Isa::kAvx512: return "avx512";
    case Isa::kAmx: return "amx";
  }
  return "?";
}

// TinyLlama BF16 prefill of 512 tokens (kvserve bench), the two kernels
// on one machine each time (docs/BENCHMARKS.md): on an AMD Zen 4 VM
// vdpbf16ps ran 1.87x / 1.75x the bands at 1 / 2 threads. On a Xeon VM
// (Emerald Rapids, AMX not exposed), where a register-only loop ran
// vdpbf16ps at half the FMAs' FLOP rate, the bands ran 1.7x vdpbf16ps (129
// against 74 tok/s, 2 threads). Intel CPUs with AMX take BF16 on the tiles.
bool Bf16DotIsFaster() { return IsAmd(); }

// Decode reads the weights from DRAM. Measured so far: on an AMD EPYC VM
// (2026-11-27) 4 KiB ahead beat 1 KiB (F16 tg64 11.9 -> 13.3 tok/s on 1
// thread, Q4_0 35.1 -> 37.7; none was not tried), and on the Xeon VM above
// (BM_DecodeMatMuls) none at all ran 20-30% slower than 4 KiB, while T1 at
// 8 or 16 KiB and T0 at 2 KiB were within noise. On a Zen 4 VM (family 25
// model 17, 2026-12-07) the hardware prefetchers do better alone:
// BM_DecodeMatMuls, 1 thread, GB/s with 4 KiB -> none, two rounds
// alternating: F16 26.6-27.0 -> 30.7-30.8, Q8_0 23.1-26.1 -> 26.2-31.0,
// Q4_0 21.7-21.8 -> 32.3-32.8, Q4_K 24.3-25.9 -> 30.4-33.4, Q6_K 23.4-24.2
// -> 28.3-30.7; end to end in docs/BENCHMARKS.md.
int64_t SoftwarePrefetchBytes() { return IsAmd() ? 0 : 4096; }

std::optional<Isa> IsaFromName(std::string_view name) {
  for (Isa isa : {Isa::kScalar, Isa::kAvx2, Isa::kAvx512, Isa::kAmx}) {
    if (IsaName(isa) == name) return isa;
  }
  return std::nullopt;
}

}  // namespace kvs::cpu
