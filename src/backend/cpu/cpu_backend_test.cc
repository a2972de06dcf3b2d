// CpuBackend's choices made once at creation: the instruction-set path,
// the BF16 kernel and the software prefetch distance, each the CPU's unless
// pinned by CpuBackendOptions, and the prefetch distance changing no result.
#include "backend/cpu/cpu_backend.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <random>
#include <regex>
#include <string>
#include <string_view>
#include <vector>

#include <unistd.h>

#include "backend/backend_test_util.h"

namespace kvs {
namespace {

using backend_test::MakeWeights;
using backend_test::RandomFloats;
using backend_test::TestWeights;
using cpu::Isa;

// /proc/cpuinfo's first line that starts with `key` (the kernel's CPUID
// reading: the oracle for isa.cc's), with a space at the end; "" if none.
std::string CpuinfoLine(const std::string& key) {
  std::ifstream cpuinfo("/proc/cpuinfo");
  std::string line;
  while (std::getline(cpuinfo, line)) {
    if (line.starts_with(key)) return line + " ";
  }
  return "";
}

// The vendor, for the choices made by vendor.
bool VendorIsAmd() { return CpuinfoLine("vendor_id").find("AuthenticAMD") != std::string::npos; }

bool CpuinfoHasFlag(const std::string& flag) {
  return CpuinfoLine("flags").find(" " + flag + " ") != std::string::npos;
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

// Each instruction family sits only in the kernels of the paths that need
// it, read from the code of this binary and of kvserve (objdump, binutils;
// each link may keep a different copy of an inline function), so that a
// CPU never meets one its path was not chosen for:
// - AVX-512 (zmm, opmask and the upper 16 vector registers) only in the
//   avx512 and amx kernels: an inline function compiled with their flags
//   and kept by the linker for a generic caller would crash AVX2 CPUs;
// - AVX (ymm) only in the avx2, avx512 and amx kernels: the rest of the
//   binary runs on any x86-64;
// - BF16 (vdpbf16ps, vcvtne2ps2bf16) only in the bf16_dot table's kernel
//   and the AMX BF16 tiles: the avx512 path runs on Cascade Lake and Ice
//   Lake, which lack AVX512-BF16, although its files are compiled with it;
// - AMX tile instructions only in the AMX kernels.
// A function's family is read from its demangled name (the avx2 and avx512
// namespaces, the Amx functions).
struct SimdFamily {
  const char* name;
  std::regex allowed;  // in the function's name
  int inside = 0;      // instructions found where allowed
  std::vector<std::string> outside;
};

void ScanForSimd(const std::string& binary, std::vector<SimdFamily>& families) {
  FILE* pipe = popen(("objdump -d --no-show-raw-insn -C " + binary).c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  const std::regex avx512_reg("%(zmm|k[0-7]\\b|[xy]mm(1[6-9]|2[0-9]|3[01]))");
  std::string function;
  std::vector<bool> allowed(families.size());  // for `function`, per family
  int lines = 0;
  char buf[8192];
  while (std::fgets(buf, sizeof buf, pipe) != nullptr) {
    const std::string_view line = buf;
    ++lines;
    if (line.ends_with(">:\n")) {  // "0000000000136670 <name>:"
      function = line.substr(0, line.size() - 1);
      for (size_t f = 0; f < families.size(); ++f) allowed[f] = std::regex_search(function, families[f].allowed);
      continue;
    }
    const size_t tab = line.find('\t');
    if (tab == std::string::npos) continue;
    const size_t end = line.find_first_of(" \t\n", tab + 1);
    const std::string_view mnemonic = line.substr(tab + 1, end - tab - 1);
    const std::string_view operands = end == std::string::npos ? "" : line.substr(end);
    // The regex only where a vector or mask register may be named: most
    // lines are scalar code, and std::regex is slow under the sanitizers.
    const bool vector = operands.find("mm") != std::string::npos || operands.find("%k") != std::string::npos;
    const bool uses[] = {vector && std::regex_search(operands.begin(), operands.end(), avx512_reg),
                         operands.find("%ymm") != std::string::npos, mnemonic.find("bf16") != std::string::npos,
                         mnemonic.starts_with("tile") || mnemonic.starts_with("tdp") || mnemonic.ends_with("tilecfg")};
    for (size_t f = 0; f < families.size(); ++f) {
      if (!uses[f]) continue;
      if (allowed[f]) {
        ++families[f].inside;
      } else if (families[f].outside.size() < 5) {
        families[f].outside.push_back(std::string(mnemonic) + std::string(operands.substr(0, operands.size() - 1)) +
                                      " in " + binary + ": " + function);
      }
    }
  }
  ASSERT_EQ(pclose(pipe), 0) << "objdump failed on " << binary;
  EXPECT_GT(lines, 1000) << binary;
}

TEST(CpuBackendTest, SimdInstructionsStayInTheirPathsKernels) {
  std::vector<SimdFamily> families;
  families.push_back({"AVX-512", std::regex("avx512|amx", std::regex::icase)});
  families.push_back({"AVX", std::regex("avx2|avx512|amx", std::regex::icase)});
  families.push_back({"BF16", std::regex("Bf16DotKernel|RoundRowToBf16|AmxBf16")});
  families.push_back({"AMX", std::regex("Amx")});
  // /proc/self inside objdump's command line would be objdump's own.
  ScanForSimd("/proc/" + std::to_string(getpid()) + "/exe", families);
  const std::string kvserve = std::string(KVS_BUILD_DIR) + "/kvserve";  // make test builds it first
  if (std::filesystem::exists(kvserve)) ScanForSimd(kvserve, families);
  for (const SimdFamily& f : families) {
    // Each family is there, where allowed: the disassembly is read right.
    EXPECT_GT(f.inside, 0) << f.name << ": none found in its kernels";
    for (const std::string& o : f.outside) ADD_FAILURE() << f.name << " outside its kernels: " << o;
  }
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
