// Test support for the backend tests: a CpuBackend on a chosen instruction
// set, random inputs, and random weight matrices with their exact values.
// Test code only (the *_test.cc files of backend/).
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <ostream>
#include <random>
#include <string>
#include <vector>

#include "backend/cpu/cpu_backend.h"
#include "base/check.h"
#include "tensor/quant.h"

namespace kvs::backend_test {

// One kernel path of the CPU backend: an instruction set and, on avx512,
// the BF16 kernel (CpuBackendOptions::bf16_dot). Pinned, so that a test runs
// the same kernels on every CPU that has the path.
struct CpuPath {
  CpuPath(cpu::Isa isa, bool bf16_dot = false) : isa(isa), bf16_dot(bf16_dot) {}  // NOLINT: implicit
  cpu::Isa isa;
  bool bf16_dot;
};

// Every path, for INSTANTIATE_TEST_SUITE_P.
inline auto AllCpuPaths() {
  return ::testing::Values(CpuPath(cpu::Isa::kScalar), CpuPath(cpu::Isa::kAvx2), CpuPath(cpu::Isa::kAvx512),
                           CpuPath(cpu::Isa::kAvx512, /*bf16_dot=*/true), CpuPath(cpu::Isa::kAmx));
}

inline std::unique_ptr<CpuBackend> MakeCpu(CpuPath path, int threads, bool weights_in_place = false) {
  CpuBackendOptions opts;
  opts.isa = path.isa;
  opts.bf16_dot = path.bf16_dot;
  opts.n_threads = threads;
  opts.weights_in_place = weights_in_place;
  auto b = CpuBackend::Create(opts);
  KVS_CHECK(b.ok()) << b.status().ToString();
  return std::move(b).value();
}

inline std::vector<float> RandomFloats(std::mt19937& rng, int64_t n, float lo, float hi) {
  std::uniform_real_distribution<float> d(lo, hi);
  std::vector<float> v(n);
  for (auto& x : v) x = d(rng);
  return v;
}

// A random weight matrix stored as type t, plus its exact float values.
struct TestWeights {
  std::vector<uint8_t> bytes;
  std::vector<float> values;  // dequantized [rows, cols]
  WeightMatrix m;
};

inline TestWeights MakeWeights(std::mt19937& rng, DType t, int64_t rows, int64_t cols) {
  TestWeights w;
  w.m.type = t;
  w.m.rows = rows;
  w.m.cols = cols;
  w.bytes.resize(rows * RowBytes(t, cols));
  const std::vector<float> src = RandomFloats(rng, rows * cols, -1.0f, 1.0f);
  w.values.resize(rows * cols);
  for (int64_t r = 0; r < rows; ++r) {
    uint8_t* row = w.bytes.data() + r * RowBytes(t, cols);
    QuantizeRow(t, src.data() + r * cols, row, cols);
    DequantizeRow(t, row, w.values.data() + r * cols, cols);
  }
  w.m.data = w.bytes.data();
  return w;
}

struct MatMulCase {
  DType type;
  int64_t rows, cols;
};

// A test run once per kernel path (AllCpuPaths; IsaParamName names each),
// skipped where this CPU lacks the path.
class IsaTest : public ::testing::TestWithParam<CpuPath> {
 protected:
  void SetUp() override {
    if (!cpu::IsaSupported(GetParam().isa)) GTEST_SKIP() << "CPU lacks " << cpu::IsaName(GetParam().isa);
    if (GetParam().bf16_dot && !cpu::HasAvx512Bf16()) GTEST_SKIP() << "CPU lacks AVX512-BF16";
  }
};
// How gtest prints a path in failure lines.
inline void PrintTo(const CpuPath& path, std::ostream* os) {
  *os << cpu::IsaName(path.isa) << (path.bf16_dot ? " with vdpbf16ps for BF16" : "");
}
inline std::string IsaParamName(const ::testing::TestParamInfo<CpuPath>& info) {
  return std::string(cpu::IsaName(info.param.isa)) + (info.param.bf16_dot ? "_bf16dot" : "");
}

}  // namespace kvs::backend_test
