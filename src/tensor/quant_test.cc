// Tests of the block codecs: hand-built blocks with known values pin the
// byte layouts (independently of our quantizers), and seeded random rows
// bound each format's round-trip error. The comparison with blocks written
// by llama.cpp itself lives in src/io/quant_gguf_test.cc (it needs the GGUF
// reader).
#include "tensor/quant.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

namespace kvs {
namespace {

TEST(F16Test, KnownValues) {
  EXPECT_EQ(F32ToF16(1.0f), 0x3C00);
  EXPECT_EQ(F32ToF16(-2.0f), 0xC000);
  EXPECT_EQ(F32ToF16(65504.f), 0x7BFF);
  EXPECT_EQ(F32ToF16(65520.f), 0x7C00);  // halfway above max: rounds to inf
  EXPECT_EQ(F32ToF16(0.1f), 0x2E66);
  EXPECT_EQ(F32ToF16(0x1p-24f), 0x0001);        // smallest subnormal
  EXPECT_EQ(F32ToF16(0x1p-25f), 0x0000);        // tie rounds to even (0)
  EXPECT_EQ(F32ToF16(0x1.8p-24f), 0x0002);      // tie rounds to even (2)
  EXPECT_EQ(F32ToF16(0x1p-14f), 0x0400);        // smallest normal
  EXPECT_EQ(F32ToF16(1.0f + 0x1p-11f), 0x3C00);  // tie, even mantissa stays
  EXPECT_EQ(F32ToF16(1.0f + 0x1.8p-10f), 0x3C02);  // tie, odd mantissa rounds up
  EXPECT_EQ(F32ToF16(INFINITY), 0x7C00);
  EXPECT_TRUE(std::isnan(F16ToF32(F32ToF16(NAN))));
  EXPECT_EQ(F16ToF32(0x3555), 0.333251953125f);
  EXPECT_EQ(F16ToF32(0x8001), -0x1p-24f);
  EXPECT_EQ(F16ToF32(0xFC00), -INFINITY);
}

TEST(F16Test, EveryHalfRoundTrips) {
  for (uint32_t h = 0; h < 0x10000; ++h) {
    const float f = F16ToF32(static_cast<uint16_t>(h));
    if (std::isnan(f)) continue;
    ASSERT_EQ(F32ToF16(f), h) << "half 0x" << std::hex << h;
  }
}

TEST(BF16Test, KnownValues) {
  EXPECT_EQ(F32ToBF16(1.0f), 0x3F80);
  EXPECT_EQ(F32ToBF16(-3.0f), 0xC040);
  EXPECT_EQ(BF16ToF32(0x4049), 3.140625f);
  EXPECT_EQ(F32ToBF16(1.0f + 0x1p-8f), 0x3F80);        // tie to even
  EXPECT_EQ(F32ToBF16(1.0f + 0x1.8p-7f), 0x3F82);      // tie, odd rounds up
  EXPECT_TRUE(std::isnan(BF16ToF32(F32ToBF16(NAN))));
}

TEST(QuantLayoutTest, Q8_0) {
  uint8_t block[34];
  const uint16_t d = 0x3800;  // 0.5
  std::memcpy(block, &d, 2);
  for (int j = 0; j < 32; ++j) block[2 + j] = static_cast<uint8_t>(static_cast<int8_t>(j - 16));
  float y[32];
  DequantizeRow(DType::kQ8_0, block, y, 32);
  for (int j = 0; j < 32; ++j) EXPECT_EQ(y[j], 0.5f * (j - 16)) << j;
}

TEST(QuantLayoutTest, Q4_0LowNibblesFirstHalf) {
  uint8_t block[18];
  const uint16_t d = 0x4000;  // 2.0
  std::memcpy(block, &d, 2);
  for (int j = 0; j < 16; ++j) block[2 + j] = static_cast<uint8_t>(j | ((15 - j) << 4));
  float y[32];
  DequantizeRow(DType::kQ4_0, block, y, 32);
  for (int j = 0; j < 16; ++j) {
    EXPECT_EQ(y[j], 2.f * (j - 8)) << j;
    EXPECT_EQ(y[j + 16], 2.f * (7 - j)) << j;
  }
}

// Sub-block 5 takes the "high" path of the 6-bit scale packing: scale 37 =
// 0b10'0101 keeps 0101 in byte 9's low nibble and 10 in byte 1's top bits;
// min 18 = 0b01'0010 keeps 0010 in byte 9's high nibble and 01 in byte 5's
// top bits. Its quants are the high nibbles of qs[64..95].
TEST(QuantLayoutTest, Q4_KScalePackingAndNibbleOrder) {
  uint8_t block[144] = {};
  const uint16_t one = 0x3C00;
  std::memcpy(block + 0, &one, 2);  // d
  std::memcpy(block + 2, &one, 2);  // dmin
  uint8_t* scales = block + 4;
  uint8_t* qs = block + 16;
  scales[9] = 0x25;
  scales[1] = 0x80;
  scales[5] = 0x40;
  // Sub-block 0 (low path): scale 3, min 1; its quants are low nibbles of qs[0..31].
  scales[0] |= 3;
  scales[4] |= 1;
  qs[64 + 3] = 0x70;  // element 5 * 32 + 3 = 163 has q = 7
  qs[10] = 0x0F;      // element 10 has q = 15
  float y[256];
  DequantizeRow(DType::kQ4_K, block, y, 256);
  for (int e = 0; e < 256; ++e) {
    float want = 0.f;
    if (e / 32 == 5) want = e == 163 ? 37.f * 7 - 18 : -18.f;
    if (e / 32 == 0) want = e == 10 ? 3.f * 15 - 1 : -1.f;
    ASSERT_EQ(y[e], want) << "element " << e;
  }
}

// Element 232 = half 1, group 3, lane 8: low nibble in the high nibble of
// ql[64 + 32 + 8], top bits in bits 6..7 of qh[32 + 8], scale scales[14].
TEST(QuantLayoutTest, Q6_KBitPositions) {
  uint8_t block[210] = {};
  const uint16_t one = 0x3C00;
  std::memcpy(block + 208, &one, 2);
  uint8_t* ql = block;
  uint8_t* qh = block + 128;
  auto* sc = reinterpret_cast<int8_t*>(block + 192);
  sc[14] = -3;
  ql[104] = 0x20;  // stored q = 0b11'0010 = 50, i.e. 18
  qh[40] = 0xC0;
  float y[256];
  DequantizeRow(DType::kQ6_K, block, y, 256);
  for (int e = 0; e < 256; ++e) {
    float want = 0.f;
    if (e / 16 == 14) want = e == 232 ? -3.f * 18 : -3.f * -32;
    ASSERT_EQ(y[e], want) << "element " << e;
  }
}

double RelRms(const std::vector<float>& ref, const std::vector<float>& got) {
  double num = 0, den = 0;
  for (size_t i = 0; i < ref.size(); ++i) {
    num += (ref[i] - got[i]) * double(ref[i] - got[i]);
    den += ref[i] * double(ref[i]);
  }
  return std::sqrt(num / den);
}

struct RoundTripCase {
  DType type;
  double max_rel_rms;
};

class QuantRoundTripTest : public ::testing::TestWithParam<RoundTripCase> {};

// Gaussian rows with a few outliers and one block of large values, as real
// weights have. Measured: F16 2.1e-4, BF16 1.6e-3, Q8_0 5.3e-3, Q6_K 1.9e-2,
// Q4_K 8.0e-2, Q4_0 8.8e-2; the bounds leave some margin above those.
TEST_P(QuantRoundTripTest, ErrorWithinBound) {
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
  const double err = RelRms(x, y);
  EXPECT_LT(err, bound) << DTypeName(type);
  // Quantizing the decoded row again must give the same row: the codes are
  // stable fixed points (catches scale/min mismatches between the two paths).
  std::vector<uint8_t> q2(q.size());
  QuantizeRow(type, y.data(), q2.data(), n);
  std::vector<float> y2(n);
  DequantizeRow(type, q2.data(), y2.data(), n);
  EXPECT_LT(RelRms(y, y2), bound / 4) << DTypeName(type);
}

INSTANTIATE_TEST_SUITE_P(AllTypes, QuantRoundTripTest,
                         ::testing::Values(RoundTripCase{DType::kF32, 1e-12},
                                           RoundTripCase{DType::kF16, 4e-4},
                                           RoundTripCase{DType::kBF16, 4e-3},
                                           RoundTripCase{DType::kQ8_0, 6e-3},
                                           RoundTripCase{DType::kQ6_K, 2.5e-2},
                                           RoundTripCase{DType::kQ4_K, 0.10},
                                           RoundTripCase{DType::kQ4_0, 0.11}),
                         [](const auto& info) { return std::string(DTypeName(info.param.type)); });

TEST(QuantTest, ZerosStayZero) {
  for (DType t : {DType::kF16, DType::kBF16, DType::kQ8_0, DType::kQ4_0, DType::kQ4_K,
                  DType::kQ6_K}) {
    std::vector<float> x(256, 0.f), y(256, 1.f);
    std::vector<uint8_t> q(RowBytes(t, 256));
    QuantizeRow(t, x.data(), q.data(), 256);
    DequantizeRow(t, q.data(), y.data(), 256);
    for (float v : y) ASSERT_EQ(v, 0.f) << DTypeName(t);
  }
}

TEST(QuantTest, Q8_0IntegersAreExact) {
  std::vector<float> x(64);
  for (int i = 0; i < 64; ++i) x[i] = static_cast<float>((i * 37) % 255 - 127);
  x[0] = 127.f;
  x[32] = -127.f;
  std::vector<uint8_t> q(RowBytes(DType::kQ8_0, 64));
  QuantizeRow(DType::kQ8_0, x.data(), q.data(), 64);
  std::vector<float> y(64);
  DequantizeRow(DType::kQ8_0, q.data(), y.data(), 64);
  EXPECT_EQ(x, y);
}

// A K-quant block of only positive values needs no min; one of only
// negative values needs a min as large as the most negative value.
TEST(QuantTest, Q4_KOneSignedBlocks) {
  for (float sign : {1.f, -1.f}) {
    std::vector<float> x(256);
    for (int i = 0; i < 256; ++i) x[i] = sign * (0.5f + (i % 16) / 16.f);
    std::vector<uint8_t> q(RowBytes(DType::kQ4_K, 256));
    QuantizeRow(DType::kQ4_K, x.data(), q.data(), 256);
    std::vector<float> y(256);
    DequantizeRow(DType::kQ4_K, q.data(), y.data(), 256);
    for (int i = 0; i < 256; ++i) EXPECT_NEAR(y[i], x[i], 0.05f) << i << " sign " << sign;
  }
}

}  // namespace
}  // namespace kvs
