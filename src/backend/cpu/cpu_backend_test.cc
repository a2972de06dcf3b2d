// CpuBackend's choices made once at creation: the instruction-set path,
// the BF16 kernel and the software prefetch distance, each the CPU's unless
// pinned by CpuBackendOptions, and the prefetch distance changing no result.
#include "backend/cpu/cpu_backend.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include <unistd.h>

#include "backend/backend_test_util.h"

namespace kvs {
namespace {

using backend_test::MakeWeights;
using backend_test::RandomFloats;
using backend_test::TestWeights;
using cpu::Isa;

// The vendor from /proc/cpuinfo: the oracle for the choices made by vendor
// (isa.cc reads CPUID).
bool VendorIsAmd() {
  std::ifstream cpuinfo("/proc/cpuinfo");
  std::string line;
  while (std::getline(cpuinfo, line)) {
    if (line.starts_with("vendor_id")) return line.find("AuthenticAMD") != std::string::npos;
  }
  return false;
}

// Whether /proc/cpuinfo's first flags line lists `flag` (the kernel's
// CPUID reading, the oracle for isa.cc's).
bool CpuinfoHasFlag(const std::string& flag) {
  std::ifstream cpuinfo("/proc/cpuinfo");
  std::string line;
  while (std::getline(cpuinfo, line)) {
    if (line.starts_with("flags")) return (line + " ").find(" " + flag + " ") != std::string::npos;
  }
  return false;
}

TEST(CpuBackendTest, DefaultIsTheBestIsaAndUnsupportedIsRefused) {
  auto b = CpuBackend::Create({});
  ASSERT_TRUE(b.ok());
  EXPECT_EQ((*b)->isa(), cpu::BestIsa());
  for (Isa isa : {Isa::kScalar, Isa::kAvx2, Isa::kAvx512, Isa::kAmx}) {
    CpuBackendOptions o;
    o.isa = isa;
    EXPECT_EQ(CpuBackend::Create(o).ok(), cpu::IsaSupported(isa)) << cpu::IsaName(isa);
  }
}

// The avx512 path's BF16 kernel is the CPU's (vdpbf16ps on AMD cores,
// /proc/cpuinfo's vendor read here as the oracle) unless pinned; only
// avx512 has vdpbf16ps without tiles, so the other paths refuse it.
TEST(CpuBackendTest, Bf16KernelFollowsTheVendorUnlessPinned) {
  const bool amd = VendorIsAmd();
  EXPECT_EQ(cpu::Bf16DotIsFaster(), amd);
  const bool bf16 = cpu::IsaSupported(Isa::kAvx512) && CpuinfoHasFlag("avx512_bf16");
  EXPECT_EQ(cpu::HasAvx512Bf16(), bf16);
  if (!cpu::IsaSupported(Isa::kAvx512)) GTEST_SKIP() << "no AVX-512 here";
  for (std::optional<bool> pinned : {std::optional<bool>(), std::optional<bool>(true), std::optional<bool>(false)}) {
    CpuBackendOptions o;
    o.isa = Isa::kAvx512;
    o.bf16_dot = pinned;
    auto b = CpuBackend::Create(o);
    if (pinned == true && !bf16) {  // Cascade Lake, Ice Lake: no vdpbf16ps
      EXPECT_FALSE(b.ok());
      continue;
    }
    ASSERT_TRUE(b.ok()) << b.status().ToString();
    const bool dot = pinned.value_or(amd && bf16);
    EXPECT_EQ((*b)->bf16_dot(), dot);
    EXPECT_EQ((*b)->name(), dot ? "cpu-avx512-bf16dot" : "cpu-avx512");
  }
  for (Isa isa : {Isa::kScalar, Isa::kAvx2, Isa::kAmx}) {
    CpuBackendOptions o;
    o.isa = isa;
    o.bf16_dot = true;
    EXPECT_FALSE(CpuBackend::Create(o).ok()) << cpu::IsaName(isa);
    o.bf16_dot = false;
    EXPECT_EQ(CpuBackend::Create(o).ok(), cpu::IsaSupported(isa)) << cpu::IsaName(isa);
  }
}

// The avx512 path runs on CPUs without AVX512-BF16 (Cascade Lake, Ice
// Lake) although its files are compiled with it: BF16 instructions may sit
// only in the kernels of the bf16_dot table and the AMX path, which need
// it. Read from this binary's own code (objdump, binutils): a BF16
// intrinsic in any other function, or the compiler emitting one there,
// fails here rather than as SIGILL on such a CPU.
TEST(CpuBackendTest, Bf16InstructionsStayInTheBf16Kernels) {
  // /proc/self inside the command would be objdump's own.
  const std::string cmd = "objdump -d --no-show-raw-insn -C /proc/" + std::to_string(getpid()) + "/exe";
  FILE* pipe = popen(cmd.c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  const std::vector<std::string> allowed = {"Bf16DotKernel", "RoundRowToBf16", "AmxBf16"};
  std::string function, line;
  int in_dot_kernel = 0, lines = 0;
  std::vector<std::string> offenders;
  char buf[4096];
  while (std::fgets(buf, sizeof buf, pipe) != nullptr) {
    line = buf;
    ++lines;
    if (line.ends_with(">:\n")) {  // "0000000000136670 <name>:"
      function = line;
      continue;
    }
    const size_t tab = line.find('\t');
    if (tab == std::string::npos) continue;
    const std::string mnemonic = line.substr(tab + 1, line.find_first_of(" \t\n", tab + 1) - tab - 1);
    if (mnemonic.find("bf16") == std::string::npos) continue;
    bool ok = false;
    for (const std::string& a : allowed) ok = ok || function.find(a) != std::string::npos;
    if (!ok) offenders.push_back(mnemonic + " in " + function);
    if (function.find("Bf16DotKernel") != std::string::npos) ++in_dot_kernel;
  }
  ASSERT_EQ(pclose(pipe), 0) << "objdump failed";
  EXPECT_GT(lines, 1000);
  EXPECT_GT(in_dot_kernel, 0) << "no vdpbf16ps found in the BF16 kernel: is the disassembly read right?";
  EXPECT_TRUE(offenders.empty()) << offenders.size() << " outside the BF16 kernels, first: " << offenders.front();
}

// No software prefetch on AMD cores (cpu::SoftwarePrefetchBytes), 4 KiB
// ahead elsewhere, unless pinned; a distance out of range is refused.
TEST(CpuBackendTest, PrefetchFollowsTheVendorUnlessPinned) {
  const int64_t want = VendorIsAmd() ? 0 : 4096;
  EXPECT_EQ(cpu::SoftwarePrefetchBytes(), want);
  auto b = CpuBackend::Create({});
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  EXPECT_EQ((*b)->prefetch_bytes(), want);
  for (int64_t pinned : {int64_t{0}, int64_t{512}, int64_t{8192}}) {
    CpuBackendOptions o;
    o.prefetch_bytes = pinned;
    auto p = CpuBackend::Create(o);
    ASSERT_TRUE(p.ok()) << p.status().ToString();
    EXPECT_EQ((*p)->prefetch_bytes(), pinned);
  }
  for (int64_t bad : {int64_t{-64}, int64_t{2} << 20}) {
    CpuBackendOptions o;
    o.prefetch_bytes = bad;
    EXPECT_FALSE(CpuBackend::Create(o).ok()) << bad;
  }
}

// Prefetching only asks for lines early: every weight type, decode (the
// two streams) and a few tokens (the tiles), on each SIMD path this CPU
// has, gives the same bits with no prefetch, a short and a long distance.
TEST(CpuBackendTest, PrefetchDistanceChangesNoResult) {
  const DType types[] = {DType::kF16,  DType::kBF16, DType::kQ8_0, DType::kQ4_0, DType::kQ4_1,
                         DType::kQ5_0, DType::kQ5_1, DType::kIQ4_NL, DType::kIQ4_XS, DType::kQ2_K,
                         DType::kQ3_K, DType::kQ4_K, DType::kQ5_K, DType::kQ6_K};
  std::mt19937 rng(21);
  for (Isa isa : {Isa::kAvx2, Isa::kAvx512}) {
    if (!cpu::IsaSupported(isa)) continue;
    std::unique_ptr<CpuBackend> backends[3];
    const int64_t distances[3] = {0, 256, 4096};
    for (int i = 0; i < 3; ++i) {
      CpuBackendOptions o;
      o.isa = isa;
      o.n_threads = 2;
      o.prefetch_bytes = distances[i];
      backends[i] = std::move(CpuBackend::Create(o)).value();
    }
    for (DType t : types) {
      const int64_t rows = 96, cols = 1280;
      TestWeights w = MakeWeights(rng, t, rows, cols);
      // Each backend packs its own copy (the same bytes: one path).
      PreparedWeights prepared[3];
      for (int i = 0; i < 3; ++i) prepared[i] = backends[i]->PrepareWeights({&w.m, 1});
      for (int64_t n : {int64_t{1}, int64_t{5}}) {
        SCOPED_TRACE(std::string(cpu::IsaName(isa)) + " " + std::string(DTypeName(t)) + " n=" + std::to_string(n));
        const std::vector<float> x = RandomFloats(rng, n * cols, -2.0f, 2.0f);
        std::vector<float> out[3];
        for (int i = 0; i < 3; ++i) {
          out[i].assign(n * rows, NAN);
          backends[i]->MatMul(prepared[i].matrices[0], x.data(), n, out[i].data());
        }
        for (int i = 1; i < 3; ++i) {
          ASSERT_EQ(0, std::memcmp(out[0].data(), out[i].data(), out[0].size() * sizeof(float)))
              << "prefetch " << distances[i] << " against none";
        }
        ASSERT_FALSE(std::isnan(out[0][0]));
      }
    }
  }
}

}  // namespace
}  // namespace kvs
