// Test support for the backend tests: a CpuBackend on a chosen instruction
// set, random inputs, and random weight matrices with their exact values.
// Test code only (the *_test.cc files of backend/).
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "backend/cpu/cpu_backend.h"
#include "base/check.h"
#include "tensor/quant.h"

namespace kvs::backend_test {

inline std::unique_ptr<CpuBackend> MakeCpu(cpu::Isa isa, int threads, bool weights_in_place = false) {
  CpuBackendOptions opts;
  opts.isa = isa;
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

// A test run once per instruction-set path (IsaParamName names each), skipped
// where this CPU lacks the path.
class IsaTest : public ::testing::TestWithParam<cpu::Isa> {
 protected:
  void SetUp() override {
    if (!cpu::IsaSupported(GetParam())) GTEST_SKIP() << "CPU lacks " << cpu::IsaName(GetParam());
  }
};
inline std::string IsaParamName(const ::testing::TestParamInfo<cpu::Isa>& info) {
  return std::string(cpu::IsaName(info.param));
}

}  // namespace kvs::backend_test
