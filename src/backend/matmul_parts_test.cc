// MatMulParts against MatMul of the whole matrix: the same numbers, bit for
// bit, each part's rows landing in its own output, on every instruction-set
// path this CPU has and every way a MatMul runs there (decode, the tiles,
// the panels, AMX, the bands), for every weight type; and the reference
// backend's default (a MatMul per part).
#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <string>
#include <vector>

#include "backend/backend_test_util.h"
#include "backend/cpu/kernels.h"
#include "backend/reference/reference_backend.h"

namespace kvs {
namespace {

using backend_test::MakeCpu;
using backend_test::MatMulCase;
using backend_test::MakeWeights;
using backend_test::RandomFloats;
using backend_test::TestWeights;
using cpu::Isa;

// Three parts: 32 rows, a multiple of 32 (0 for the smallest matrices), the
// rest (any number).
std::vector<int64_t> PartRows(int64_t rows) {
  const int64_t middle = (rows - 32) / 2 / kMatMulPartAlign * kMatMulPartAlign;
  return {32, middle, rows - 32 - middle};
}

// Checks parts against whole: part i's token t row r is whole's token t row
// first_i + r, bit for bit.
void ExpectPartsOfWhole(const std::vector<float>& whole, int64_t n, int64_t rows,
                        const std::vector<int64_t>& part_rows, const std::vector<std::vector<float>>& outs) {
  int64_t first = 0;
  for (size_t i = 0; i < part_rows.size(); ++i) {
    for (int64_t t = 0; t < n; ++t) {
      for (int64_t r = 0; r < part_rows[i]; ++r) {
        const float want = whole[t * rows + first + r], got = outs[i][t * part_rows[i] + r];
        ASSERT_EQ(std::bit_cast<uint32_t>(want), std::bit_cast<uint32_t>(got))
            << "part " << i << " token " << t << " row " << r << ": " << want << " vs " << got;
      }
    }
    first += part_rows[i];
  }
}

// Every type, in sizes that take each path: 403 x 1280 Q2_K and 283 x 1280
// Q5_K cross panels; BF16 80 x 64 and F16 160 x 600 are whole AMX panels
// and bands.
const MatMulCase kCases[] = {
    {DType::kF32, 133, 259},   {DType::kF16, 160, 600},   {DType::kBF16, 80, 64},
    {DType::kBF16, 133, 259},  {DType::kQ8_0, 133, 1056}, {DType::kQ4_0, 133, 1056},
    {DType::kQ4_1, 133, 288},  {DType::kQ5_0, 133, 288},  {DType::kQ5_1, 133, 288},
    {DType::kIQ4_NL, 133, 288}, {DType::kQ2_K, 403, 1280}, {DType::kQ3_K, 67, 768},
    {DType::kQ4_K, 133, 1280}, {DType::kQ5_K, 283, 1280}, {DType::kQ6_K, 67, 768},
    {DType::kIQ4_XS, 67, 768},
};

class MatMulPartsTest : public backend_test::IsaTest {};

TEST_P(MatMulPartsTest, EachPartIsItsRowsOfTheWholeBitForBit) {
  std::mt19937 rng(21);
  for (int threads : {1, 3}) {
    auto cpu = MakeCpu(GetParam(), threads);
    for (const MatMulCase& c : kCases) {
      TestWeights w = MakeWeights(rng, c.type, c.rows, c.cols);
      PreparedWeights prepared = cpu->PrepareWeights({&w.m, 1});
      const WeightMatrix& m = prepared.matrices[0];
      const std::vector<int64_t> part_rows = PartRows(c.rows);
      // 1: decode; 17: the tiles; 64: panels and AMX (from 32 tokens).
      for (int64_t n : {int64_t{1}, int64_t{17}, int64_t{64}}) {
        SCOPED_TRACE(std::string(DTypeName(c.type)) + " rows=" + std::to_string(c.rows) +
                     " n=" + std::to_string(n) + " threads=" + std::to_string(threads));
        std::vector<float> x = RandomFloats(rng, n * c.cols, -2.0f, 2.0f);
        std::vector<float> whole(n * c.rows, NAN);
        cpu->MatMul(m, x.data(), n, whole.data());
        std::vector<std::vector<float>> outs;
        std::vector<MatMulPart> parts;
        for (int64_t r : part_rows) outs.emplace_back(n * r + 1, NAN);  // + 1: never adjacent
        for (size_t i = 0; i < outs.size(); ++i) parts.push_back({outs[i].data(), part_rows[i]});
        cpu->MatMulParts(m, x.data(), n, parts);
        ExpectPartsOfWhole(whole, n, c.rows, part_rows, outs);
        // Parts end to end in one buffer (decode's fused q | k | v).
        std::vector<float> joined(n * c.rows, NAN);
        float* p = joined.data();
        for (size_t i = 0; i < parts.size(); ++i) {
          parts[i].out = p;
          p += n * part_rows[i];
        }
        cpu->MatMulParts(m, x.data(), n, parts);
        for (size_t i = 0; i < outs.size(); ++i) {
          outs[i].assign(parts[i].out, parts[i].out + n * part_rows[i]);
        }
        ExpectPartsOfWhole(whole, n, c.rows, part_rows, outs);
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(AllIsas, MatMulPartsTest,
                         backend_test::AllCpuPaths(), backend_test::IsaParamName);

TEST(MatMulPartsTest, ReferenceRunsAMatMulPerPart) {
  std::mt19937 rng(22);
  ReferenceBackend ref;
  TestWeights w = MakeWeights(rng, DType::kQ4_0, 133, 288);
  const int64_t n = 5;
  const std::vector<int64_t> part_rows = PartRows(133);
  std::vector<float> x = RandomFloats(rng, n * 288, -2.0f, 2.0f);
  std::vector<float> whole(n * 133, NAN);
  ref.MatMul(w.m, x.data(), n, whole.data());
  std::vector<std::vector<float>> outs;
  std::vector<MatMulPart> parts;
  for (int64_t r : part_rows) outs.emplace_back(n * r, NAN);
  for (size_t i = 0; i < outs.size(); ++i) parts.push_back({outs[i].data(), part_rows[i]});
  ref.MatMulParts(w.m, x.data(), n, parts);
  ExpectPartsOfWhole(whole, n, 133, part_rows, outs);
}

TEST(MatMulPartsDeathTest, APartOffTheGridOrAShortSumIsRefused) {
  std::mt19937 rng(23);
  auto cpu = MakeCpu(Isa::kScalar, 1);
  TestWeights w = MakeWeights(rng, DType::kF32, 64, 32);
  std::vector<float> x(32), a(64), b(64);
  const MatMulPart off_grid[] = {{a.data(), 16}, {b.data(), 48}};
  EXPECT_DEATH(cpu->MatMulParts(w.m, x.data(), 1, off_grid), "a part of 16 rows");
  const MatMulPart short_sum[] = {{a.data(), 32}, {b.data(), 16}};
  EXPECT_DEATH(cpu->MatMulParts(w.m, x.data(), 1, short_sum), "parts of 48 rows for a matrix of 64");
}

}  // namespace
}  // namespace kvs
