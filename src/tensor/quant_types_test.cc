// Layout tests of the block types Q4_1, Q5_0, Q5_1, IQ4_NL, Q2_K, Q3_K,
// Q5_K and IQ4_XS: hand-built blocks whose decoded values follow from the
// format by hand (docs/formats.md), and blocks written by llama-quantize
// itself (quant_types_fixtures.h) decoded to ggml's exact float bits.
// bench/compare_ggml_dequant.sh checks every tensor of whole llama.cpp files.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <random>
#include <vector>

#include "tensor/quant.h"

namespace kvs {
namespace {

void PutHalf(uint8_t* p, uint16_t h) { std::memcpy(p, &h, 2); }

constexpr uint16_t kHalf = 0x3800, kQuarter = 0x3400, kOne = 0x3C00, kTwo = 0x4000, kMinusOne = 0xBC00;

// Codes c(j) = j for j < 16, 15 - (j - 16) after: byte j = j | (15 - j) << 4.
int LegacyCode(int j) { return j < 16 ? j : 15 - (j - 16); }
void PutLegacyCodes(uint8_t* qs) {
  for (int j = 0; j < 16; ++j) qs[j] = static_cast<uint8_t>(j | ((15 - j) << 4));
}

TEST(QuantTypesLayoutTest, Q4_1) {
  uint8_t block[20];
  PutHalf(block, kHalf);
  PutHalf(block + 2, kMinusOne);
  PutLegacyCodes(block + 4);
  float y[32];
  DequantizeRow(DType::kQ4_1, block, y, 32);
  for (int j = 0; j < 32; ++j) ASSERT_EQ(y[j], 0.5f * LegacyCode(j) - 1.f) << j;
}

// Fifth bits of elements 3 and 20: bits 3 and 20 of the little-endian word.
TEST(QuantTypesLayoutTest, Q5_0AndQ5_1) {
  uint8_t b0[22], b1[24];
  PutHalf(b0, kHalf);
  const uint8_t qh[4] = {0x08, 0x00, 0x10, 0x00};
  std::memcpy(b0 + 2, qh, 4);
  PutLegacyCodes(b0 + 6);
  PutHalf(b1, kQuarter);
  PutHalf(b1 + 2, kTwo);
  std::memcpy(b1 + 4, qh, 4);
  PutLegacyCodes(b1 + 8);
  float y0[32], y1[32];
  DequantizeRow(DType::kQ5_0, b0, y0, 32);
  DequantizeRow(DType::kQ5_1, b1, y1, 32);
  for (int j = 0; j < 32; ++j) {
    const int code = LegacyCode(j) + (j == 3 || j == 20 ? 16 : 0);
    ASSERT_EQ(y0[j], 0.5f * (code - 16)) << j;
    ASSERT_EQ(y1[j], 0.25f * code + 2.f) << j;
  }
}

TEST(QuantTypesLayoutTest, IQ4_NL) {
  uint8_t block[18];
  PutHalf(block, kTwo);
  PutLegacyCodes(block + 2);
  float y[32];
  DequantizeRow(DType::kIQ4_NL, block, y, 32);
  for (int j = 0; j < 32; ++j) ASSERT_EQ(y[j], 2.f * kIq4NlValues[LegacyCode(j)]) << j;
  EXPECT_EQ(y[0], -254.f);
  EXPECT_EQ(y[16], 226.f);
}

// Element 200 = half 1, group 2 (bits 4..5), lane 8: qs[32 + 8]; its
// 16-element sub-block is 12.
TEST(QuantTypesLayoutTest, Q2_KBitPositions) {
  uint8_t block[84] = {};
  block[12] = 0x35;          // sub-block 12: scale 5, min 3
  block[16 + 40] = 0x20;     // element 200: code 2
  PutHalf(block + 80, kOne);
  PutHalf(block + 82, kHalf);
  float y[256];
  DequantizeRow(DType::kQ2_K, block, y, 256);
  for (int e = 0; e < 256; ++e) {
    float want = 0.f;
    if (e / 16 == 12) want = e == 200 ? 5.f * 2 - 1.5f : -1.5f;
    ASSERT_EQ(y[e], want) << "element " << e;
  }
}

// Element 200 as Q2_K; third bit in bit 4 * 1 + 2 of hmask[8]; sub-block
// 12's scale: low four bits in the high nibble of scales[4], top two in
// bits 6..7 of scales[8]. Element 8 (half 0, group 0) has its third bit
// in bit 0 of the same byte.
TEST(QuantTypesLayoutTest, Q3_KBitPositions) {
  uint8_t block[110] = {};
  block[8] = 0x41;            // hmask[8]: elements 8 and 200
  block[32 + 40] = 0x10;      // element 200: low bits 1
  block[96 + 4] = 0xD0;       // scale 12 low bits 13
  block[96 + 8] = 0x80;       // scale 12 top bits 2: stored 45, scale 13
  PutHalf(block + 108, kHalf);
  float y[256];
  DequantizeRow(DType::kQ3_K, block, y, 256);
  for (int e = 0; e < 256; ++e) {
    float want = 0.5f * -32 * -4;  // stored scale 0 (-32), code 0 without third bit (-4)
    if (e == 8) want = 0.f;
    if (e / 16 == 12) want = e == 200 ? 0.5f * 13 * 1 : 0.5f * 13 * -4;
    ASSERT_EQ(y[e], want) << "element " << e;
  }
  EXPECT_EQ(UnpackScaleK3(12, block + 96), 45);
}

// Element 200 = sub-block 6, lane 8: low bits in the low nibble of
// qs[96 + 8], fifth bit in bit 6 of qh[8]; scale and min of sub-block 6
// packed as Q4_K's.
TEST(QuantTypesLayoutTest, Q5_KBitPositions) {
  uint8_t block[176] = {};
  PutHalf(block, kOne);
  PutHalf(block + 2, kOne);
  uint8_t* sc = block + 4;
  sc[10] = 0x25;  // scale 6 low 5, min 6 low 2
  sc[2] = 0x80;   // scale 6 top 2: 37
  sc[6] = 0x40;   // min 6 top 1: 18
  block[16 + 8] = 0x40;        // qh[8] bit 6
  block[48 + 104] = 0x07;      // code 7 + 16 = 23
  float y[256];
  DequantizeRow(DType::kQ5_K, block, y, 256);
  for (int e = 0; e < 256; ++e) {
    float want = 0.f;
    if (e / 32 == 6) want = e == 200 ? 37.f * 23 - 18 : -18.f;
    ASSERT_EQ(y[e], want) << "element " << e;
  }
}

// Sub-block 5's scale: low four bits in the high nibble of scales_l[2], top
// two in bits 10..11 of scales_h; its codes in qs[80..95].
TEST(QuantTypesLayoutTest, IQ4_XSBitPositions) {
  uint8_t block[136] = {};
  PutHalf(block, kHalf);
  PutHalf(block + 2, 0x0800);
  block[4 + 2] = 0x80;          // ls = 0b10'1000 = 40: scale 8
  block[8 + 80 + 3] = 0xE2;     // elements 163 (index 2) and 179 (index 14)
  float y[256];
  DequantizeRow(DType::kIQ4_XS, block, y, 256);
  for (int e = 0; e < 256; ++e) {
    float want = 0.5f * -32 * -127;
    if (e / 32 == 5) want = e == 163 ? 4.f * -83 : e == 179 ? 4.f * 89 : 4.f * -127;
    ASSERT_EQ(y[e], want) << "element " << e;
  }
}

double TypesRelRms(const std::vector<float>& ref, const std::vector<float>& got) {
  double num = 0, den = 0;
  for (size_t i = 0; i < ref.size(); ++i) {
    num += (ref[i] - got[i]) * double(ref[i] - got[i]);
    den += ref[i] * double(ref[i]);
  }
  return std::sqrt(num / den);
}

struct TypesRoundTripCase {
  DType type;
  double max_rel_rms;
};

class QuantTypesRoundTripTest : public ::testing::TestWithParam<TypesRoundTripCase> {};

// quant_test's rows (Gaussian, outliers, one block of large values).
// Measured with our quantizers: Q4_1 0.080, Q5_0 0.041, Q5_1 0.035, IQ4_NL
// 0.075, Q2_K 0.29, Q3_K 0.15, Q5_K 0.033, IQ4_XS 0.076.
TEST_P(QuantTypesRoundTripTest, ErrorWithinBound) {
  const auto [type, bound] = GetParam();
  const int64_t n = 4096;
  std::mt19937 rng(1234);
  std::normal_distribution<float> normal(0.f, 0.02f);
  std::vector<float> x(n);
  for (auto& v : x) v = normal(rng);
  x[100] = 0.3f;
  x[3000] = -0.25f;
  for (int i = 512; i < 768; ++i) x[i] *= 40.f;
  std::vector<uint8_t> q(RowBytes(type, n));
  QuantizeRow(type, x.data(), q.data(), n);
  std::vector<float> y(n);
  DequantizeRow(type, q.data(), y.data(), n);
  const double err = TypesRelRms(x, y);
  EXPECT_LT(err, bound) << DTypeName(type);
  std::printf("%s round trip rel. RMS %.4g\n", std::string(DTypeName(type)).c_str(), err);
  std::vector<uint8_t> q2(q.size());
  QuantizeRow(type, y.data(), q2.data(), n);
  std::vector<float> y2(n);
  DequantizeRow(type, q2.data(), y2.data(), n);
  EXPECT_LT(TypesRelRms(y, y2), bound / 2) << DTypeName(type);
}

INSTANTIATE_TEST_SUITE_P(NewTypes, QuantTypesRoundTripTest,
                         ::testing::Values(TypesRoundTripCase{DType::kQ4_1, 0.10},
                                           TypesRoundTripCase{DType::kQ5_0, 0.06},
                                           TypesRoundTripCase{DType::kQ5_1, 0.05},
                                           TypesRoundTripCase{DType::kIQ4_NL, 0.10},
                                           TypesRoundTripCase{DType::kQ2_K, 0.40},
                                           TypesRoundTripCase{DType::kQ3_K, 0.20},
                                           TypesRoundTripCase{DType::kQ5_K, 0.05},
                                           TypesRoundTripCase{DType::kIQ4_XS, 0.10}),
                         [](const auto& info) { return std::string(DTypeName(info.param.type)); });

TEST(QuantTypesTest, ZerosStayZero) {
  for (DType t : {DType::kQ4_1, DType::kQ5_0, DType::kQ5_1, DType::kIQ4_NL, DType::kQ2_K, DType::kQ3_K,
                  DType::kQ5_K, DType::kIQ4_XS}) {
    std::vector<float> x(256, 0.f), y(256, 1.f);
    std::vector<uint8_t> q(RowBytes(t, 256));
    QuantizeRow(t, x.data(), q.data(), 256);
    DequantizeRow(t, q.data(), y.data(), 256);
    for (float v : y) ASSERT_EQ(v, 0.f) << DTypeName(t);
  }
}

TEST(QuantTypesTest, NamesAndNumbersAreGgmls) {
  const std::pair<DType, uint32_t> kIds[] = {
      {DType::kQ4_1, 3},  {DType::kQ5_0, 6},  {DType::kQ5_1, 7},   {DType::kQ2_K, 10},
      {DType::kQ3_K, 11}, {DType::kQ5_K, 13}, {DType::kIQ4_NL, 20}, {DType::kIQ4_XS, 23}};
  for (const auto& [t, id] : kIds) {
    EXPECT_EQ(DTypeFromGgml(id), t);
    EXPECT_EQ(GgmlTypeName(id), DTypeName(t));
    EXPECT_EQ(DTypeFromName(DTypeName(t)), t);
  }
  EXPECT_EQ(BlockBytes(DType::kQ2_K), 84);
  EXPECT_EQ(BlockBytes(DType::kQ3_K), 110);
  EXPECT_EQ(BlockBytes(DType::kQ5_K), 176);
  EXPECT_EQ(BlockBytes(DType::kIQ4_XS), 136);
  EXPECT_EQ(GgmlTypeName(15), "Q8_K");
  EXPECT_EQ(GgmlTypeName(29), "IQ1_M");
  EXPECT_EQ(GgmlTypeName(35), "TQ2_0");
  EXPECT_EQ(GgmlTypeName(4), "");
  EXPECT_EQ(GgmlTypeName(43), "");
  EXPECT_FALSE(DTypeFromGgml(15).has_value());
}

}  // namespace
}  // namespace kvs
