// Isa: which instruction-set path the CPU backend's kernels use.
//
// kScalar runs anywhere (portable C++); kAvx2 needs AVX2+FMA+F16C; kAvx512
// needs AVX-512 F/BW/VL/DQ plus VNNI (the integer dot products): Cascade
// Lake, Ice Lake and Tiger Lake as well as Zen 4. Its BF16 instructions
// (vdpbf16ps, vcvtne2ps2bf16) run only in the bf16_dot table's kernels,
// which need AVX512-BF16 too (HasAvx512Bf16; CpuBackendTest reads the
// binary's code and holds every other function free of them). kAmx is
// kAvx512 plus AVX512-BF16 and the AMX tile unit (AMX-TILE, AMX-INT8,
// AMX-BF16, and the kernel's leave to use its 8 KiB of tile state): prefill
// of the packed 4/5-bit types, and every MatMul of BF16 weights.
// The choice is made once when a backend is created.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace kvs::cpu {

enum class Isa { kScalar, kAvx2, kAvx512, kAmx };

// Whether this CPU (and OS) can run the path.
bool IsaSupported(Isa isa);
// The fastest supported path.
Isa BestIsa();
std::string_view IsaName(Isa isa);  // "scalar", "avx2", "avx512", "amx"
std::optional<Isa> IsaFromName(std::string_view name);

// Whether the avx512 path may take its BF16 kernel (vdpbf16ps): kAvx512
// plus AVX512-BF16.
bool HasAvx512Bf16();

// Whether BF16 weights on the avx512 path run faster by vdpbf16ps
// (activations rounded to bf16) than widened to floats on the FMA bands:
// a property of the core, decided by vendor from measurements (isa.cc), and
// never by timing, since the two give different numbers.
bool Bf16DotIsFaster();

// How far ahead (bytes) the MatMul kernels ask for weight lines by
// software prefetch, 0 for not at all (MatMulArgs::prefetch_bytes): by
// vendor, from decode measurements on one CPU of each (isa.cc). Changes no
// result, only the speed.
int64_t SoftwarePrefetchBytes();

}  // namespace kvs::cpu
