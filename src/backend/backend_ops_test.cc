// Every CpuBackend op on every instruction-set path this CPU has, compared
// with the reference backend on random inputs of awkward sizes.
//
// Error bounds, per op:
// - F32 MatMul, RmsNorm, Rope, Add, GetRows, StoreKv, CopyBlock: bit-exact
//   (the CPU backend uses the reference's arithmetic for them).
// - F16 / BF16 MatMul: the weights convert exactly; only the summation order
//   differs: |err| <= 1e-5 * sum_j |w_j x_j| + 1e-6.
// - Quantized MatMul: the activation row is quantized to int8 per block
//   (scale d = amax / 127, error <= d / 2 per element), so
//   |err| <= sum_j |w_j| * d(block of j) / 2 + 1e-5 * sum_j |w_j x_j| + 1e-6,
//   computed per output from the dequantized weights. A wrong nibble, scale
//   or block order errs by about sum_j |w_j x_j|, far outside.
// - PagedAttention, every KV cache dtype (F32, F16, BF16, Q8_0) read
//   directly by each path: online softmax and a polynomial exp:
//   |err| <= 2e-5 * max|v| (+1e-6).
// - StoreKv in every KV dtype: bit-exact with the reference's QuantizeRow.
// - SwiGlu: polynomial exp: |err| <= 2e-6 * |out| + 1e-6.
// Batch invariance: MatMul of a batch equals each row alone, bit for bit,
// for every type, path and thread count.
// Both the file's layout and each path's prepared (packed) layout are
// checked: AVX-512 repacks the quantized types (pack_quant.h) and bands F16
// and BF16 (pack_bands.h; BF16 keeps the file's layout on avx512_bf16dot,
// the vdpbf16ps path); AMX takes BF16 in tiles (pack_bf16.h).
#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "backend/backend_test_util.h"
#include "backend/cpu/blocks.h"
#include "backend/cpu/cpu_backend.h"
#include "backend/cpu/pack_bands.h"
#include "backend/create_backend.h"
#include "backend/reference/reference_backend.h"
#include "tensor/quant.h"

namespace kvs {
namespace {

using backend_test::MakeCpu;
using backend_test::MatMulCase;
using backend_test::MakeWeights;
using backend_test::RandomFloats;
using backend_test::TestWeights;
using cpu::Isa;

bool IsQuantized(DType t) { return BlockElems(t) > 1; }

class BackendOpsTest : public backend_test::IsaTest {};

const MatMulCase kMatMulCases[] = {
    {DType::kF32, 133, 259}, {DType::kF16, 133, 259}, {DType::kBF16, 133, 259},
    {DType::kQ8_0, 133, 288}, {DType::kQ4_0, 133, 288}, {DType::kQ4_K, 67, 768},
    {DType::kQ6_K, 67, 768},
    {DType::kQ4_1, 133, 288}, {DType::kQ5_0, 133, 288}, {DType::kQ5_1, 133, 288},
    {DType::kIQ4_NL, 133, 288}, {DType::kQ2_K, 67, 768}, {DType::kQ3_K, 67, 768},
    {DType::kQ5_K, 67, 768}, {DType::kIQ4_XS, 67, 768},
    // Packed Q4 groups hold 512 elements: two full groups and a partial one.
    {DType::kQ4_0, 37, 1056}, {DType::kQ4_K, 19, 1280},
    {DType::kQ4_1, 37, 1056}, {DType::kQ5_0, 37, 1056}, {DType::kQ5_1, 37, 1056},
    {DType::kIQ4_NL, 37, 1056}, {DType::kQ5_K, 19, 1280}, {DType::kIQ4_XS, 19, 1280},
    {DType::kQ2_K, 19, 1280}, {DType::kQ3_K, 19, 1280}, {DType::kQ8_0, 37, 1056},
    {DType::kQ6_K, 19, 1280},
    // The panel path (n >= PanelMinTokens) over rows that take several
    // panels (Q2_K 124 rows, Q5_K 136), the last one partial and ending in
    // a partial tile.
    {DType::kQ2_K, 403, 1280}, {DType::kQ5_K, 283, 1280},
    // Rows longer than one pass (kPanelPassGroups groups): the panel path
    // in passes, two (the second partial) and three (the last one group).
    {DType::kQ2_K, 131, 2816}, {DType::kQ4_K, 75, 4608},
    // BF16 in whole 16-row panels and 32-column tiles: the AMX packed layout.
    {DType::kBF16, 48, 288}, {DType::kBF16, 80, 64},
    // F16 and BF16 in whole 32-row bands on AVX-512, over more than one
    // block of kBandCols columns, the last one partial.
    {DType::kF16, 96, 259}, {DType::kBF16, 64, 288}, {DType::kF16, 160, 600},
    // Whole bands but not whole tiles: banded on AVX-512, the file's layout
    // on AMX (packed BF16 there means tiles).
    {DType::kBF16, 64, 259},
};

// Whether PrepareWeights on `path` repacks a rows x cols matrix of type t.
bool Packs(backend_test::CpuPath path, DType t, int64_t rows, int64_t cols) {
  const Isa isa = path.isa;
  switch (t) {
    case DType::kBF16:
      if (isa == Isa::kAmx) return rows % 16 == 0 && cols % 32 == 0;
      return isa == Isa::kAvx512 && !path.bf16_dot && rows % 32 == 0;
    case DType::kF16: return (isa == Isa::kAvx512 || isa == Isa::kAmx) && rows % 32 == 0;
    case DType::kQ4_0:
    case DType::kQ4_1:
    case DType::kQ4_K:
    case DType::kQ8_0:
    case DType::kIQ4_NL:
    case DType::kIQ4_XS:
    case DType::kQ5_0:
    case DType::kQ5_1:
    case DType::kQ5_K: return isa != Isa::kScalar;  // AVX2 reads these packed too
    case DType::kQ2_K:
    case DType::kQ3_K:
    case DType::kQ6_K: return isa == Isa::kAvx512 || isa == Isa::kAmx;
    default: return false;
  }
}

// With weights_in_place, PrepareWeights copies only what it repacks: every
// other matrix is the caller's own bytes (the file's mapping), and MatMul
// gives the copying backend's results bit for bit.
TEST_P(BackendOpsTest, WeightsInPlaceStayWhereTheyAreAndComputeTheSame) {
  std::mt19937 rng(5);
  auto in_place = MakeCpu(GetParam(), 2, /*weights_in_place=*/true);
  auto copying = MakeCpu(GetParam(), 2);
  for (const MatMulCase& c : kMatMulCases) {
    SCOPED_TRACE(DTypeName(c.type));
    TestWeights w = MakeWeights(rng, c.type, c.rows, c.cols);
    PreparedWeights kept = in_place->PrepareWeights({&w.m, 1});
    PreparedWeights copied = copying->PrepareWeights({&w.m, 1});
    const bool packs = Packs(GetParam(), c.type, c.rows, c.cols);
    EXPECT_EQ(kept.matrices[0].data == w.m.data, !packs);
    EXPECT_NE(copied.matrices[0].data, w.m.data);
    for (int64_t n : {1, 17}) {
      std::vector<float> x = RandomFloats(rng, n * c.cols, -2.0f, 2.0f);
      std::vector<float> want(n * c.rows, NAN), got(n * c.rows, NAN);
      copying->MatMul(copied.matrices[0], x.data(), n, want.data());
      in_place->MatMul(kept.matrices[0], x.data(), n, got.data());
      for (int64_t i = 0; i < n * c.rows; ++i) {
        ASSERT_EQ(std::bit_cast<uint32_t>(want[i]), std::bit_cast<uint32_t>(got[i])) << "n=" << n << " i=" << i;
      }
    }
  }
}

TEST_P(BackendOpsTest, MatMulMatchesReferenceWithinBound) {
  std::mt19937 rng(1);
  ReferenceBackend ref;
  auto fast = MakeCpu(GetParam(), 3);
  for (const MatMulCase& c : kMatMulCases) {
    TestWeights w = MakeWeights(rng, c.type, c.rows, c.cols);
    PreparedWeights prepared = fast->PrepareWeights({&w.m, 1});
    const WeightMatrix& packed = prepared.matrices[0];
    ASSERT_EQ(packed.layout == WeightLayout::kPacked, Packs(GetParam(), c.type, c.rows, c.cols))
        << DTypeName(c.type);
    for (int64_t n : {1, 3, 17})
    for (const WeightMatrix* m : {static_cast<const WeightMatrix*>(&w.m), &packed}) {
      // BF16 on the AMX tiles and by vdpbf16ps runs with activations
      // rounded to bf16: the reference gets the same rounded activations,
      // so that the bound below is the float accumulation's alone.
      const bool bf16_rounded =
          c.type == DType::kBF16 &&
          ((GetParam().isa == Isa::kAmx && m->layout == WeightLayout::kPacked) || GetParam().bf16_dot);
      SCOPED_TRACE(std::string(DTypeName(c.type)) + " n=" + std::to_string(n) +
                   (m->layout == WeightLayout::kPacked ? " packed" : ""));
      // Varied magnitudes per column so that block scales differ.
      std::vector<float> x = RandomFloats(rng, n * c.cols, -2.0f, 2.0f);
      for (int64_t j = 0; j < n * c.cols; j += 7) x[j] *= 8.0f;
      std::vector<float> want(n * c.rows), got(n * c.rows, NAN);
      std::vector<float> x_ref = x;
      if (bf16_rounded) {
        for (float& v : x_ref) v = BF16ToF32(F32ToBF16(v));
      }
      ref.MatMul(w.m, x_ref.data(), n, want.data());
      fast->MatMul(*m, x.data(), n, got.data());
      if (c.type == DType::kF32) {
        ASSERT_EQ(0, std::memcmp(want.data(), got.data(), want.size() * sizeof(float)));
        continue;
      }
      const int64_t act_block = BlockElems(c.type) == 256 ? 256 : 32;
      for (int64_t t = 0; t < n; ++t) {
        const float* xt = x_ref.data() + t * c.cols;
        for (int64_t r = 0; r < c.rows; ++r) {
          const float* wr = w.values.data() + r * c.cols;
          double abs_dot = 0, quant_err = 0;
          for (int64_t b = 0; b < c.cols; b += act_block) {
            const int64_t end = std::min(b + act_block, c.cols);  // F32/F16 rows need not fill a block
            float amax = 0;
            for (int64_t j = b; j < end; ++j) amax = std::max(amax, std::fabs(xt[j]));
            for (int64_t j = b; j < end; ++j) {
              abs_dot += std::fabs(wr[j] * xt[j]);
              if (IsQuantized(c.type)) quant_err += std::fabs(wr[j]) * amax / 127.0 / 2.0;
            }
          }
          const double bound = quant_err + 1e-5 * abs_dot + 1e-6;
          const float g = got[t * c.rows + r], e = want[t * c.rows + r];
          ASSERT_LE(std::fabs(double{g} - e), bound) << "row " << r << " token " << t;
        }
      }
    }
  }
}

// The integer dots sum products as int16 before widening them wherever
// that cannot wrap (the avx2 packed tiles: 4-bit codes over eight
// vpmaddubsw, five-bit codes over four). Random weights stay far from that
// bound; here every block's codes sit at their largest (one element at
// -1, the rest at 15/16 of it, positive) against activations all 1, which
// quantize to 127: a sum that wrapped would be off by 65536 times a scale.
TEST_P(BackendOpsTest, LargestCodesTimesLargestActivationsDoNotWrap) {
  ReferenceBackend ref;
  auto fast = MakeCpu(GetParam(), 1);
  constexpr int64_t kRows = 6, kCols = 2048, kTokens = 4;
  for (DType t : {DType::kQ4_0, DType::kQ4_1, DType::kQ5_0, DType::kQ5_1, DType::kQ8_0, DType::kIQ4_NL,
                  DType::kQ2_K, DType::kQ3_K, DType::kQ4_K, DType::kQ5_K, DType::kQ6_K, DType::kIQ4_XS}) {
    std::vector<float> src(kRows * kCols);
    for (int64_t j = 0; j < kRows * kCols; ++j) src[j] = j % 32 == 0 ? -1.0f : 0.9375f;
    std::vector<uint8_t> bytes(kRows * RowBytes(t, kCols));
    for (int64_t r = 0; r < kRows; ++r) {
      QuantizeRow(t, src.data() + r * kCols, bytes.data() + r * RowBytes(t, kCols), kCols);
    }
    const WeightMatrix w{t, kRows, kCols, bytes.data()};
    PreparedWeights prepared = fast->PrepareWeights({&w, 1});
    const std::vector<float> x(kTokens * kCols, 1.0f);
    std::vector<float> want(kTokens * kRows);
    ref.MatMul(w, x.data(), kTokens, want.data());
    for (int64_t n : {int64_t{1}, kTokens}) {
      SCOPED_TRACE(std::string(DTypeName(t)) + " n=" + std::to_string(n));
      std::vector<float> got(n * kRows, NAN);
      fast->MatMul(prepared.matrices[0], x.data(), n, got.data());
      for (int64_t i = 0; i < n * kRows; ++i) ASSERT_NEAR(got[i], want[i], 1e-4 * std::fabs(want[i]) + 1e-3) << i;
    }
  }
}

// Activations that int8 quantization represents exactly (integers times a
// power of two, each 32-element block reaching +-127, so every block scale,
// per 32 or per 256 elements, is that power of two): the quantized kernels
// then differ from the reference only by float summation order, and a
// wrong scale, min or nibble anywhere shows, however small.
TEST_P(BackendOpsTest, QuantizedMatMulIsTightOnExactlyQuantizableInput) {
  std::mt19937 rng(4);
  ReferenceBackend ref;
  auto fast = MakeCpu(GetParam(), 2);
  std::uniform_int_distribution<int> q(-127, 127);
  for (const MatMulCase& c : kMatMulCases) {
    if (!IsQuantized(c.type)) continue;
    TestWeights w = MakeWeights(rng, c.type, c.rows, c.cols);
    PreparedWeights prepared = fast->PrepareWeights({&w.m, 1});
    const WeightMatrix& packed = prepared.matrices[0];
    const int64_t n = 4;
    std::vector<float> x(n * c.cols);
    for (int64_t j = 0; j < n * c.cols; ++j) {
      x[j] = static_cast<float>(j % 32 == 0 ? (q(rng) < 0 ? -127 : 127) : q(rng)) * 0.125f;
    }
    std::vector<float> want(n * c.rows);
    ref.MatMul(w.m, x.data(), n, want.data());
    for (const WeightMatrix* m : {static_cast<const WeightMatrix*>(&w.m), &packed}) {
      SCOPED_TRACE(std::string(DTypeName(c.type)) + (m->layout == WeightLayout::kPacked ? " packed" : ""));
      std::vector<float> got(n * c.rows, NAN);
      fast->MatMul(*m, x.data(), n, got.data());
      for (int64_t t = 0; t < n; ++t) {
        for (int64_t r = 0; r < c.rows; ++r) {
          double abs_dot = 0;
          for (int64_t j = 0; j < c.cols; ++j) {
            abs_dot += std::fabs(w.values[r * c.cols + j] * x[t * c.cols + j]);
          }
          ASSERT_NEAR(got[t * c.rows + r], want[t * c.rows + r], 2e-6 * abs_dot + 1e-6)
              << "row " << r << " token " << t;
        }
      }
    }
  }
}

TEST_P(BackendOpsTest, MatMulIsBatchInvariantBitForBit) {
  std::mt19937 rng(2);
  auto three = MakeCpu(GetParam(), 3);
  auto one = MakeCpu(GetParam(), 1);
  for (const MatMulCase& c : kMatMulCases) {
    SCOPED_TRACE(DTypeName(c.type));
    TestWeights w = MakeWeights(rng, c.type, c.rows, c.cols);
    PreparedWeights prepared = three->PrepareWeights({&w.m, 1});
    const WeightMatrix& packed = prepared.matrices[0];
    for (const WeightMatrix* m : {static_cast<const WeightMatrix*>(&w.m), &packed}) {
    SCOPED_TRACE(m->layout == WeightLayout::kPacked ? "packed" : "file layout");
    const int64_t n = 17;
    std::vector<float> x = RandomFloats(rng, n * c.cols, -3.0f, 3.0f);
    std::vector<float> batch(n * c.rows), single(c.rows), single1(c.rows);
    three->MatMul(*m, x.data(), n, batch.data());
    for (int64_t t = 0; t < n; ++t) {
      three->MatMul(*m, x.data() + t * c.cols, 1, single.data());
      one->MatMul(*m, x.data() + t * c.cols, 1, single1.data());
      ASSERT_EQ(0, std::memcmp(single.data(), batch.data() + t * c.rows, c.rows * sizeof(float)))
          << "token " << t << " of the batch differs from the same row alone";
      ASSERT_EQ(0, std::memcmp(single.data(), single1.data(), c.rows * sizeof(float)))
          << "token " << t << " differs between 3 threads and 1";
    }
    // A different batch (other rows around it) gives the same row too.
    std::vector<float> x2 = RandomFloats(rng, 5 * c.cols, -3.0f, 3.0f);
    std::memcpy(x2.data() + 2 * c.cols, x.data() + 4 * c.cols, c.cols * sizeof(float));
    std::vector<float> batch2(5 * c.rows);
    one->MatMul(*m, x2.data(), 5, batch2.data());
    ASSERT_EQ(0, std::memcmp(batch2.data() + 2 * c.rows, batch.data() + 4 * c.rows,
                             c.rows * sizeof(float)));
    }
  }
}

TEST_P(BackendOpsTest, GetRowsIsExact) {
  std::mt19937 rng(3);
  ReferenceBackend ref;
  auto fast = MakeCpu(GetParam(), 2);
  for (const MatMulCase& c : kMatMulCases) {
    TestWeights w = MakeWeights(rng, c.type, c.rows, c.cols);
    const int32_t last = static_cast<int32_t>(c.rows - 1);
    const int32_t ids[] = {5, 0, last, 5, 1};
    std::vector<float> want(5 * c.cols), got(5 * c.cols);
    ref.GetRows(w.m, ids, 5, want.data());
    fast->GetRows(w.m, ids, 5, got.data());
    ASSERT_EQ(0, std::memcmp(want.data(), got.data(), want.size() * sizeof(float)))
        << DTypeName(c.type);
  }
}

// The CPU backend keeps Rope's table between calls at the same positions
// (every layer of a step): changed positions in the same array, another
// base or another head_dim must each give a new table.
TEST_P(BackendOpsTest, RopeTableFollowsPositionsAndBase) {
  std::mt19937 rng(5);
  ReferenceBackend ref;
  auto fast = MakeCpu(GetParam(), 2);
  std::vector<int32_t> pos = {5, 9};
  // 2 tokens of 4 heads of 32 (or 8 of 16).
  const std::vector<float> x = RandomFloats(rng, 2 * 4 * 32, -4.0f, 4.0f);
  auto check = [&](int n_heads, int head_dim, float base) {
    std::vector<float> want = x, got = x;
    ref.Rope(want.data(), pos.data(), 2, n_heads, head_dim, RopeParams{base});
    fast->Rope(got.data(), pos.data(), 2, n_heads, head_dim, RopeParams{base});
    return std::memcmp(want.data(), got.data(), want.size() * sizeof(float)) == 0;
  };
  EXPECT_TRUE(check(4, 32, 10000.0f));
  EXPECT_TRUE(check(4, 32, 10000.0f));  // from the kept table
  pos[1] = 10;
  EXPECT_TRUE(check(4, 32, 10000.0f)) << "positions changed in place";
  EXPECT_TRUE(check(4, 32, 500000.0f)) << "base changed";
  EXPECT_TRUE(check(8, 16, 500000.0f)) << "head_dim changed";
  // Frequency divisors are part of the table too.
  std::vector<float> factors(8, 4.0f);
  std::vector<float> want = x, got = x;
  const RopeParams with_factors{500000.0f, RopeStyle::kAdjacent, factors.data()};
  ref.Rope(want.data(), pos.data(), 2, 8, 16, with_factors);
  fast->Rope(got.data(), pos.data(), 2, 8, 16, with_factors);
  EXPECT_EQ(0, std::memcmp(want.data(), got.data(), want.size() * sizeof(float)))
      << "freq_factors changed";
}

// The two pairings are the same rotation of differently ordered dimensions:
// interleaving a head's halves (what llama.cpp's converter does to Llama's
// Q/K) turns the NeoX rotation into the adjacent one. A divisor of 4 on
// pair p equals that pair at a 4x smaller position.
TEST(RopeTest, PairingsAgreeUnderInterleavingAndFactorsScalePositions) {
  std::mt19937 rng(8);
  ReferenceBackend ref;
  const int head_dim = 16, half = 8;
  const std::vector<float> v = RandomFloats(rng, head_dim, -2.0f, 2.0f);
  std::vector<float> inter(head_dim);
  for (int p = 0; p < half; ++p) {
    inter[2 * p] = v[p];
    inter[2 * p + 1] = v[p + half];
  }
  const int32_t pos = 11;
  std::vector<float> a = v, b = inter;
  ref.Rope(a.data(), &pos, 1, 1, head_dim, RopeParams{10000.0f, RopeStyle::kHalves});
  ref.Rope(b.data(), &pos, 1, 1, head_dim, RopeParams{10000.0f, RopeStyle::kAdjacent});
  for (int p = 0; p < half; ++p) {
    EXPECT_FLOAT_EQ(a[p], b[2 * p]) << p;
    EXPECT_FLOAT_EQ(a[p + half], b[2 * p + 1]) << p;
  }
  const std::vector<float> fours(half, 4.0f);
  const int32_t pos4 = 44;
  std::vector<float> c = v, d = v;
  ref.Rope(c.data(), &pos4, 1, 1, head_dim, RopeParams{10000.0f, RopeStyle::kHalves, fours.data()});
  ref.Rope(d.data(), &pos, 1, 1, head_dim, RopeParams{10000.0f, RopeStyle::kHalves});
  for (int i = 0; i < head_dim; ++i) EXPECT_NEAR(c[i], d[i], 1e-4f) << i;
}

TEST_P(BackendOpsTest, RmsNormRopeAddAreExact) {
  std::mt19937 rng(4);
  ReferenceBackend ref;
  auto fast = MakeCpu(GetParam(), 3);
  for (int64_t n : {1, 3, 17, 40}) {  // 40: whole runs of rows side by side on each thread
    const int64_t dim = 2 * 3 * 40;  // 6 heads of 40 for Rope
    std::vector<float> x = RandomFloats(rng, n * dim, -4.0f, 4.0f);
    std::vector<float> weight = RandomFloats(rng, dim, 0.5f, 1.5f);
    std::vector<float> want(n * dim), got(n * dim);
    ref.RmsNorm(x.data(), weight.data(), n, dim, 1e-5f, want.data());
    fast->RmsNorm(x.data(), weight.data(), n, dim, 1e-5f, got.data());
    ASSERT_EQ(0, std::memcmp(want.data(), got.data(), want.size() * sizeof(float))) << n;

    std::vector<int32_t> pos(n);
    for (int64_t t = 0; t < n; ++t) pos[t] = static_cast<int32_t>(t * 37 + 3);
    want = x;
    got = x;
    ref.Rope(want.data(), pos.data(), n, 6, 40, RopeParams{10000.0f});
    fast->Rope(got.data(), pos.data(), n, 6, 40, RopeParams{10000.0f});
    ASSERT_EQ(0, std::memcmp(want.data(), got.data(), want.size() * sizeof(float))) << n;
    want = x;
    got = x;
    ref.Rope(want.data(), pos.data(), n, 3, 80, RopeParams{500000.0f});
    fast->Rope(got.data(), pos.data(), n, 3, 80, RopeParams{500000.0f});
    ASSERT_EQ(0, std::memcmp(want.data(), got.data(), want.size() * sizeof(float))) << n;
    // NeoX pairing with Llama 3.1-style frequency divisors.
    std::vector<float> factors = RandomFloats(rng, 20, 1.0f, 8.0f);
    const RopeParams halves{1e6f, RopeStyle::kHalves, factors.data()};
    want = x;
    got = x;
    ref.Rope(want.data(), pos.data(), n, 6, 40, halves);
    fast->Rope(got.data(), pos.data(), n, 6, 40, halves);
    ASSERT_EQ(0, std::memcmp(want.data(), got.data(), want.size() * sizeof(float))) << n;

    want = x;
    got = x;
    ref.Add(want.data(), weight.data(), dim);
    fast->Add(got.data(), weight.data(), dim);
    ASSERT_EQ(0, std::memcmp(want.data(), got.data(), want.size() * sizeof(float))) << n;
  }
  // Large enough to run on several threads.
  std::vector<float> a = RandomFloats(rng, 100003, -1, 1), b = RandomFloats(rng, 100003, -1, 1);
  std::vector<float> a2 = a;
  ref.Add(a.data(), b.data(), 100003);
  fast->Add(a2.data(), b.data(), 100003);
  ASSERT_EQ(a, a2);
}

TEST_P(BackendOpsTest, SwiGluWithinBound) {
  std::mt19937 rng(5);
  ReferenceBackend ref;
  auto fast = MakeCpu(GetParam(), 3);
  for (int64_t d : {1, 13, 5632}) {
    const int64_t n = 3;
    std::vector<float> gate = RandomFloats(rng, n * d, -12.0f, 12.0f);
    std::vector<float> up = RandomFloats(rng, n * d, -3.0f, 3.0f);
    std::vector<float> want(n * d), got(n * d);
    ref.SwiGlu(gate.data(), up.data(), n, d, want.data());
    fast->SwiGlu(gate.data(), up.data(), n, d, got.data());
    for (int64_t i = 0; i < n * d; ++i) {
      ASSERT_NEAR(got[i], want[i], 2e-6 * std::fabs(want[i]) + 1e-6) << "d=" << d << " i=" << i;
    }
  }
}

constexpr DType kKvDTypes[] = {DType::kF32, DType::kF16, DType::kBF16, DType::kQ8_0};

// StoreKv rounds each row to the cache's dtype bit for bit as the reference
// (QuantizeRow) does, in every dtype; CopyBlock moves a block's bytes.
TEST_P(BackendOpsTest, StoreKvAndCopyBlockAreExact) {
  std::mt19937 rng(6);
  ReferenceBackend ref;
  auto fast = MakeCpu(GetParam(), 2);
  for (DType dtype : kKvDTypes) {
    SCOPED_TRACE(DTypeName(dtype));
    // 96 values: three Q8_0 blocks, and F16 rows with a vector tail on neither path.
    for (int64_t kv_dim : {int64_t{24}, int64_t{96}, int64_t{100}}) {
      if (kv_dim % BlockElems(dtype) != 0) continue;
      const int64_t n_slots = 40, row_bytes = KvRowBytes(dtype, kv_dim);
      std::vector<float> k = RandomFloats(rng, 3 * kv_dim, -1, 1);
      std::vector<float> v = RandomFloats(rng, 3 * kv_dim, -70000, 70000);  // F16 overflows
      k[5] = 0.0f;
      std::fill(k.begin() + kv_dim, k.begin() + kv_dim + std::min<int64_t>(kv_dim, 32), 0.0f);
      std::vector<uint8_t> kc1(n_slots * row_bytes, 0), vc1(n_slots * row_bytes, 0);
      std::vector<uint8_t> kc2 = kc1, vc2 = vc1;
      const int32_t slots[] = {7, 31, 0};
      ref.StoreKv(k.data(), v.data(), slots, 3, kv_dim, dtype, kc1.data(), vc1.data());
      fast->StoreKv(k.data(), v.data(), slots, 3, kv_dim, dtype, kc2.data(), vc2.data());
      ASSERT_EQ(kc1, kc2) << kv_dim;
      ASSERT_EQ(vc1, vc2) << kv_dim;
      ref.CopyBlock(kc1.data(), 8 * row_bytes, 0, 3);
      fast->CopyBlock(kc2.data(), 8 * row_bytes, 0, 3);
      ASSERT_EQ(kc1, kc2);
      ASSERT_EQ(0, std::memcmp(kc2.data(), kc2.data() + 3 * 8 * row_bytes, 8 * row_bytes));
    }
  }
}

struct AttnCase {
  int n_heads, n_kv_heads, head_dim, block_size;
};

// Every KV dtype on every path against the reference reading the same
// cache bytes (each row decoded by DequantizeRow): only the summation order
// and the exp differ, so the F32 bound holds for all: the values the
// kernels decode are exactly the reference's (an F16 or BF16 value widens
// exactly; a Q8_0 value is f16 scale times int8, exact in float).
TEST_P(BackendOpsTest, PagedAttentionWithinBound) {
  std::mt19937 rng(7);
  ReferenceBackend ref;
  auto fast = MakeCpu(GetParam(), 3);
  // Q8_0 needs rows of whole blocks (kv_dim % 32 == 0): {4, 4, 8}, {4, 2, 16}
  // put several heads in one block, at offsets 0, 8, 16, 24.
  const AttnCase cases[] = {{4, 4, 8, 16},  {8, 2, 12, 5},  {6, 2, 40, 16}, {32, 4, 64, 16},
                            {4, 1, 128, 7}, {3, 3, 18, 32}, {4, 2, 16, 16}, {2, 1, 32, 3}};
  for (DType dtype : kKvDTypes) {
  for (const AttnCase& c : cases) {
    const int64_t kv_dim = int64_t{c.n_kv_heads} * c.head_dim;
    if (kv_dim % BlockElems(dtype) != 0) continue;
    SCOPED_TRACE(std::string(DTypeName(dtype)) + " heads " + std::to_string(c.n_heads) + "/" +
                 std::to_string(c.n_kv_heads) + " hd " + std::to_string(c.head_dim) + " bs " +
                 std::to_string(c.block_size));
    const int n_blocks = 48;
    const int64_t n_rows = int64_t{n_blocks} * c.block_size, row_bytes = KvRowBytes(dtype, kv_dim);
    std::vector<uint8_t> kc(n_rows * row_bytes), vc(n_rows * row_bytes);
    for (std::vector<uint8_t>* cache : {&kc, &vc}) {
      const std::vector<float> values = RandomFloats(rng, n_rows * kv_dim, -1, 1);
      for (int64_t r = 0; r < n_rows; ++r) {
        QuantizeRow(dtype, values.data() + r * kv_dim, cache->data() + r * row_bytes, kv_dim);
      }
    }
    // Two sequences with shuffled block tables; tokens at odd positions,
    // one beyond several attention chunks.
    std::vector<int32_t> table_a(n_blocks / 2), table_b(n_blocks / 2);
    std::vector<int32_t> perm(n_blocks);
    for (int i = 0; i < n_blocks; ++i) perm[i] = i;
    std::shuffle(perm.begin(), perm.end(), rng);
    for (int i = 0; i < n_blocks / 2; ++i) table_a[i] = perm[i], table_b[i] = perm[n_blocks / 2 + i];
    const int max_pos = n_blocks / 2 * c.block_size - 1;
    const std::vector<int32_t> positions = {0, 1, 63, 64, 65, 129, max_pos, 3};
    std::vector<const int32_t*> tables;
    for (size_t i = 0; i < positions.size(); ++i) tables.push_back(i % 2 ? table_b.data() : table_a.data());
    const int64_t n = static_cast<int64_t>(positions.size());
    std::vector<int32_t> pos(n);
    for (int64_t i = 0; i < n; ++i) pos[i] = std::min(positions[i], max_pos);
    std::vector<float> q = RandomFloats(rng, n * c.n_heads * c.head_dim, -2, 2);
    std::vector<float> want(q.size()), got(q.size(), NAN);
    PagedAttentionArgs args;
    args.q = q.data();
    args.n_tokens = n;
    args.n_heads = c.n_heads;
    args.n_kv_heads = c.n_kv_heads;
    args.head_dim = c.head_dim;
    args.positions = pos.data();
    args.block_tables = tables.data();
    args.k_cache = kc.data();
    args.v_cache = vc.data();
    args.kv_dtype = dtype;
    args.block_size = c.block_size;
    args.scale = 1.0f / std::sqrt(static_cast<float>(c.head_dim));
    args.out = want.data();
    ref.PagedAttention(args);
    args.out = got.data();
    fast->PagedAttention(args);
    for (size_t i = 0; i < want.size(); ++i) ASSERT_NEAR(got[i], want[i], 2e-5 + 1e-6) << i;
    // Each token alone gives the same bits as in the batch.
    std::vector<float> alone(c.n_heads * c.head_dim);
    for (int64_t t = 0; t < n; ++t) {
      PagedAttentionArgs one = args;
      one.q = q.data() + t * c.n_heads * c.head_dim;
      one.out = alone.data();
      one.n_tokens = 1;
      one.positions = pos.data() + t;
      one.block_tables = tables.data() + t;
      fast->PagedAttention(one);
      ASSERT_EQ(0, std::memcmp(alone.data(), got.data() + t * c.n_heads * c.head_dim,
                               alone.size() * sizeof(float)));
    }
  }
  }
}

// The read loop behind MeasureReadBandwidth folds every 64-bit word of the
// buffer: a single set word anywhere comes back, and a random buffer folds
// to the plain XOR of its words. A loop that skipped a load or a lane, or
// misread the tail of a thread's slice, would miss words.
TEST_P(BackendOpsTest, ReadFoldSeesEveryWord) {
  const cpu::KernelTable& k = cpu::KernelsFor(GetParam().isa, GetParam().bf16_dot);
  const int64_t bytes = 256 * 37;
  std::vector<uint64_t> words(bytes / 8, 0);
  const uint8_t* p = reinterpret_cast<const uint8_t*>(words.data());
  for (bool kernel_pattern : {false, true}) {
    for (size_t i = 0; i < words.size(); ++i) {
      words[i] = 0x9e3779b97f4a7c15ull * (i + 1);
      ASSERT_EQ(k.read_fold(p, bytes, kernel_pattern, 4096), words[i])
          << "word " << i << ", kernel pattern " << kernel_pattern;
      words[i] = 0;
    }
    EXPECT_EQ(k.read_fold(p, 0, kernel_pattern, 4096), 0u);
  }
  std::mt19937_64 rng(8);
  uint64_t want = 0;
  for (auto& w : words) want ^= (w = rng());
  EXPECT_EQ(k.read_fold(p, bytes, false, 0), want);
  EXPECT_EQ(k.read_fold(p, bytes, true, 0), want);
  EXPECT_EQ(k.read_fold(p, bytes, true, 4096), want);

  auto fast = MakeCpu(GetParam(), 2);
  for (bool kernel_pattern : {false, true}) {
    const double gbs = fast->MeasureReadBandwidth(p, bytes, 3, kernel_pattern);
    EXPECT_TRUE(std::isfinite(gbs) && gbs > 0) << gbs;
  }
}

INSTANTIATE_TEST_SUITE_P(AllIsas, BackendOpsTest,
                         backend_test::AllCpuPaths(), backend_test::IsaParamName);

// The packed kernels' activations, checked byte for byte against the
// layout blocks.h defines and the per-block quantization of every other
// quantized path: d = max|x| / 127, quants x / d rounded to nearest even,
// sum of each block's quants; padding blocks all zero. For the half-block
// types (ABlockQ8x16H) also each block's first-half sum and both halves'
// sums times d. On AVX2 (the 4-bit types it reads packed) and AVX-512.
TEST(CpuKernelsTest, PackedActivationsFollowBlocksH) {
  if (!cpu::IsaSupported(Isa::kAvx2)) GTEST_SKIP() << "no AVX2 here";
  std::mt19937 rng(7);
  std::normal_distribution<float> dist(0.0f, 3.0f);
  for (Isa isa : {Isa::kAvx2, Isa::kAvx512})
  for (DType wtype : {DType::kQ4_0, DType::kQ4_K, DType::kQ2_K, DType::kQ6_K}) {
    if (!cpu::IsaSupported(isa)) continue;
    const cpu::KernelTable& k = cpu::KernelsFor(isa);
    ASSERT_NE(k.reads_packed, nullptr);
    if (!k.reads_packed(wtype)) {
      EXPECT_EQ(isa, Isa::kAvx2) << DTypeName(wtype);  // AVX-512 reads every quantized type packed
      continue;
    }
    const bool halves = wtype == DType::kQ2_K || wtype == DType::kQ6_K;
    const int64_t group_bytes = halves ? sizeof(cpu::ABlockQ8x16H) : sizeof(cpu::ABlockQ8x16);
    for (int64_t cols : {32, 480, 512, 2048, 5632, 5664}) {
      if (cols % static_cast<int64_t>(BlockElems(wtype)) != 0) continue;
      SCOPED_TRACE(std::string(cpu::IsaName(isa)) + " " + std::string(DTypeName(wtype)) + " cols=" + std::to_string(cols));
      std::vector<float> x(cols);
      for (float& v : x) v = dist(rng);
      std::fill(x.begin() + 32, x.begin() + std::min<int64_t>(64, cols), 0.0f);  // a zero block
      const int64_t bytes = cpu::ActRowBytes(k, wtype, WeightLayout::kPacked, cols);
      std::vector<uint8_t> got(bytes, 0xAB);
      k.quantize_row(wtype, WeightLayout::kPacked, x.data(), cols, got.data());
      const int64_t nb = cols / 32;
      ASSERT_EQ(bytes, (cols + 511) / 512 * group_bytes);
      for (int64_t g = 0; g < bytes / group_bytes; ++g) {
        cpu::ABlockQ8x16H want{};
        for (int b = 0; b < 16; ++b) {
          const int64_t blk = g * 16 + b;
          if (blk >= nb) continue;
          float amax = 0.0f;
          for (int e = 0; e < 32; ++e) amax = std::max(amax, std::fabs(x[blk * 32 + e]));
          const float d = amax / 127.0f;
          const float id = d != 0.0f ? 1.0f / d : 0.0f;
          want.q.d[b] = d;
          for (int e = 0; e < 32; ++e) {
            const float r = std::nearbyint(x[blk * 32 + e] * id);
            const auto q = static_cast<int8_t>(std::clamp(r, -128.0f, 127.0f));
            want.q.sum[b] += q;
            if (e < 16) want.sum_lo[b] += q;
            // Element e = 16 h + 4 i + j of block b sits at qs[2 i + h][4 b + j].
            want.q.qs[2 * ((e % 16) / 4) + e / 16][4 * b + e % 4] = q;
          }
          want.xm[0][b] = d * static_cast<float>(want.sum_lo[b]);
          want.xm[1][b] = d * static_cast<float>(want.q.sum[b] - want.sum_lo[b]);
        }
        ASSERT_EQ(std::memcmp(halves ? static_cast<const void*>(&want) : &want.q, got.data() + g * group_bytes,
                              group_bytes),
                  0)
            << "group " << g;
      }
    }
  }
}

// The AMX path (prefill of the packed Q4 family on the tile unit) gives the
// VNNI kernels' results bit for bit: every type it reads, weight rows that
// end in a partial 16-row panel, rows in a partial 512-element group,
// token counts from its threshold to several tiles with a partial last
// one, on one thread and on three (whose row slices fall on other panels).
TEST(CpuKernelsTest, AmxMatMulEqualsAvx512BitForBit) {
  if (!cpu::IsaSupported(Isa::kAmx)) GTEST_SKIP() << "no AMX-INT8 here";
  std::mt19937 rng(11);
  for (int threads : {1, 3}) {
    auto amx = MakeCpu(Isa::kAmx, threads);
    auto vnni = MakeCpu(Isa::kAvx512, threads);
    for (const MatMulCase& c : kMatMulCases) {
      if (!cpu::AmxReads(c.type)) continue;
      TestWeights w = MakeWeights(rng, c.type, c.rows, c.cols);
      PreparedWeights prepared = amx->PrepareWeights({&w.m, 1});
      ASSERT_EQ(prepared.matrices[0].layout, WeightLayout::kPacked);
      for (int64_t n : {cpu::kAmxMinTokens, cpu::kAmxMinTokens + 9, int64_t{64}}) {
        SCOPED_TRACE(std::string(DTypeName(c.type)) + " rows=" + std::to_string(c.rows) +
                     " cols=" + std::to_string(c.cols) + " n=" + std::to_string(n) +
                     " threads=" + std::to_string(threads));
        std::vector<float> x = RandomFloats(rng, n * c.cols, -2.0f, 2.0f);
        for (int64_t j = 0; j < n * c.cols; j += 5) x[j] *= 16.0f;
        std::vector<float> want(n * c.rows, NAN), got(n * c.rows, NAN);
        vnni->MatMul(prepared.matrices[0], x.data(), n, want.data());
        amx->MatMul(prepared.matrices[0], x.data(), n, got.data());
        for (int64_t i = 0; i < n * c.rows; ++i) {
          ASSERT_EQ(std::bit_cast<uint32_t>(want[i]), std::bit_cast<uint32_t>(got[i]))
              << "token " << i / c.rows << " row " << i % c.rows << ": " << want[i] << " vs " << got[i];
        }
      }
    }
  }
}

// The panel path (prefill of packed Q2_K and the packed Q4 family through
// rows unfolded into scratch) gives each token's result alone (the packed
// tiles) bit for bit: every type it reads, from its threshold to several
// token tiles, on one thread and on three; rows that cross panels (the
// 403-row case) and end in a partial tile and a partial group.
TEST(CpuKernelsTest, PanelMatMulEqualsTokensAloneBitForBit) {
  if (!cpu::IsaSupported(Isa::kAvx512) || cpu::Avx512Kernels().panel_matmul_rows == nullptr) {
    GTEST_SKIP() << "no AVX-512 VNNI here";
  }
  std::mt19937 rng(12);
  for (int threads : {1, 3}) {
    auto cpu = MakeCpu(Isa::kAvx512, threads);
    for (const MatMulCase& c : kMatMulCases) {
      const int64_t min_tokens = cpu::PanelMinTokens(c.type);
      if (min_tokens == 0) continue;
      TestWeights w = MakeWeights(rng, c.type, c.rows, c.cols);
      PreparedWeights prepared = cpu->PrepareWeights({&w.m, 1});
      ASSERT_EQ(prepared.matrices[0].layout, WeightLayout::kPacked);
      for (int64_t n : {min_tokens, min_tokens + 7, int64_t{64}}) {
        SCOPED_TRACE(std::string(DTypeName(c.type)) + " rows=" + std::to_string(c.rows) +
                     " cols=" + std::to_string(c.cols) + " n=" + std::to_string(n) +
                     " threads=" + std::to_string(threads));
        std::vector<float> x = RandomFloats(rng, n * c.cols, -2.0f, 2.0f);
        for (int64_t j = 0; j < n * c.cols; j += 5) x[j] *= 16.0f;
        std::vector<float> got(n * c.rows, NAN), alone(c.rows, NAN);
        cpu->MatMul(prepared.matrices[0], x.data(), n, got.data());
        for (int64_t t = 0; t < n; ++t) {
          cpu->MatMul(prepared.matrices[0], x.data() + t * c.cols, 1, alone.data());
          for (int64_t r = 0; r < c.rows; ++r) {
            ASSERT_EQ(std::bit_cast<uint32_t>(alone[r]), std::bit_cast<uint32_t>(got[t * c.rows + r]))
                << "token " << t << " row " << r << ": " << alone[r] << " vs " << got[t * c.rows + r];
          }
        }
      }
    }
  }
}

// The band path (F16 and BF16 in 32-row bands) computes every output as
// one float accumulator over the columns in order, acc = fma(w, x, acc)
// from 0: checked bit for bit against that loop written here, for decode
// and for batches that end in partial tiles and cross a token chunk
// (kBandTokenChunk), over partial column blocks, on one thread and three.
TEST(CpuKernelsTest, BandMatMulIsOneFmaChainPerOutputBitForBit) {
  if (!cpu::IsaSupported(Isa::kAvx512)) GTEST_SKIP() << "no AVX-512 here";
  std::mt19937 rng(13);
  for (int threads : {1, 3}) {
    auto cpu = MakeCpu(Isa::kAvx512, threads);
    for (const MatMulCase& c : kMatMulCases) {
      if (!Packs(Isa::kAvx512, c.type, c.rows, c.cols) || (c.type != DType::kF16 && c.type != DType::kBF16)) {
        continue;
      }
      TestWeights w = MakeWeights(rng, c.type, c.rows, c.cols);
      PreparedWeights prepared = cpu->PrepareWeights({&w.m, 1});
      ASSERT_EQ(prepared.matrices[0].layout, WeightLayout::kPacked);
      for (int64_t n : {int64_t{1}, int64_t{2}, int64_t{13}, cpu::kBandTokenChunk + 17}) {
        SCOPED_TRACE(std::string(DTypeName(c.type)) + " rows=" + std::to_string(c.rows) +
                     " cols=" + std::to_string(c.cols) + " n=" + std::to_string(n) +
                     " threads=" + std::to_string(threads));
        std::vector<float> x = RandomFloats(rng, n * c.cols, -2.0f, 2.0f);
        for (int64_t j = 0; j < n * c.cols; j += 5) x[j] *= 16.0f;
        std::vector<float> got(n * c.rows, NAN);
        cpu->MatMul(prepared.matrices[0], x.data(), n, got.data());
        for (int64_t t = 0; t < n; ++t) {
          for (int64_t r = 0; r < c.rows; ++r) {
            float acc = 0.0f;
            for (int64_t k = 0; k < c.cols; ++k) acc = std::fma(w.values[r * c.cols + k], x[t * c.cols + k], acc);
            ASSERT_EQ(std::bit_cast<uint32_t>(acc), std::bit_cast<uint32_t>(got[t * c.rows + r]))
                << "token " << t << " row " << r << ": " << acc << " vs " << got[t * c.rows + r];
          }
        }
      }
    }
  }
}

// "cpu:ISA" names a kernel path; an unknown or unsupported one is refused.
TEST(CreateBackendTest, CpuIsaNamesAPath) {
  auto plain = CreateBackend("cpu:scalar", 1);
  ASSERT_TRUE(plain.ok()) << plain.status().ToString();
  EXPECT_EQ(static_cast<CpuBackend*>(plain->get())->isa(), Isa::kScalar);
  EXPECT_FALSE(CreateBackend("cpu:sse9", 1).ok());
  EXPECT_FALSE(CreateBackend("cpu:", 1).ok());
  EXPECT_EQ(CreateBackend("cpu:amx", 1).ok(), cpu::IsaSupported(Isa::kAmx));
  // The BF16 kernel pinned by a suffix, on avx512 alone.
  for (const char* bad : {"cpu:avx2-bf16dot", "cpu:amx-bf16bands", "cpu:avx512-bf16", "cpu:-bf16dot",
                          "cpu:avx512-bf16dot-bf16bands"}) {
    EXPECT_FALSE(CreateBackend(bad, 1).ok()) << bad;
  }
  if (!cpu::IsaSupported(Isa::kAvx512)) return;
  EXPECT_EQ(CreateBackend("cpu:avx512-bf16dot", 1).ok(), cpu::HasAvx512Bf16());
  if (!cpu::HasAvx512Bf16()) return;
  for (auto [name, dot] : {std::pair{"cpu:avx512-bf16dot", true}, std::pair{"cpu:avx512-bf16bands", false}}) {
    auto b = CreateBackend(name, 1);
    ASSERT_TRUE(b.ok()) << name << ": " << b.status().ToString();
    EXPECT_EQ(static_cast<CpuBackend*>(b->get())->isa(), Isa::kAvx512) << name;
    EXPECT_EQ(static_cast<CpuBackend*>(b->get())->bf16_dot(), dot) << name;
  }
}

}  // namespace
}  // namespace kvs
