// The key check of src/tensor/quant.cc against the outside world: the
// quant-test GGUF files were quantized by llama.cpp from quant-test-f32.gguf
// (see models/README.md), so decoding each of their tensors with our
// DequantizeRow must land within that format's quantization error of the F32
// tensor. A wrong bit position or scale packing gives errors of order 1, far
// above the bounds. It also checks that our own quantizers are in the same
// league as llama.cpp's on the same weights.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "io/gguf_reader.h"
#include "tensor/quant.h"

namespace kvs {
namespace {

std::string QuantTestPath(const std::string& suffix) {
  return std::string(KVS_SHARED_DIR) + "/models/quant-test/quant-test-" + suffix + ".gguf";
}

std::vector<float> Decode(const TensorInfo& t) {
  std::vector<float> out(t.n_elements());
  const int64_t row = t.dims[0];
  const auto* src = static_cast<const uint8_t*>(t.data);
  for (int64_t r = 0; r < t.n_elements() / row; ++r) {
    DequantizeRow(t.type, src + r * RowBytes(t.type, row), out.data() + r * row, row);
  }
  return out;
}

double RelRms(const std::vector<float>& ref, const std::vector<float>& got) {
  double num = 0, den = 0;
  for (size_t i = 0; i < ref.size(); ++i) {
    const double e = double(ref[i]) - got[i];
    num += e * e;
    den += double(ref[i]) * ref[i];
  }
  return std::sqrt(num / den);
}

struct Case {
  const char* file;
  DType type;        // the type of the quantized matrices in that file
  double max_rel_rms;  // worst tensor of the file
};

class QuantGgufTest : public ::testing::TestWithParam<Case> {};

TEST_P(QuantGgufTest, LlamaCppBlocksDecodeNearF32) {
  const Case& c = GetParam();
  auto ref = GgufFile::Open(QuantTestPath("f32"));
  ASSERT_TRUE(ref.ok()) << ref.status().ToString();
  auto q = GgufFile::Open(QuantTestPath(c.file));
  ASSERT_TRUE(q.ok()) << q.status().ToString();
  ASSERT_EQ((*q)->tensors().size(), (*ref)->tensors().size());
  int n_of_type = 0;
  double worst = 0;
  for (const TensorInfo& t : (*q)->tensors()) {
    const TensorInfo* r = (*ref)->FindTensor(t.name);
    ASSERT_NE(r, nullptr) << t.name;
    ASSERT_EQ(r->dims, t.dims) << t.name;
    ASSERT_EQ(r->type, DType::kF32);
    const double err = RelRms(Decode(*r), Decode(t));
    if (t.type == DType::kF32) {
      EXPECT_EQ(err, 0.0) << t.name;
      continue;
    }
    n_of_type += t.type == c.type;
    worst = std::max(worst, err);
    EXPECT_LT(err, c.max_rel_rms) << t.name << " " << DTypeName(t.type);
  }
  EXPECT_GT(n_of_type, 0) << "no " << DTypeName(c.type) << " tensor in " << c.file;
  RecordProperty("worst_rel_rms", std::to_string(worst));
}

// Measured worst tensors (relative RMS; the weights are random Gaussians):
// F16 2.1e-4, BF16 1.7e-3, Q8_0 5.4e-3, Q6_K 1.8e-2, Q4_K 7.2e-2, Q4_0
// 8.6e-2. Bounds are about 1.4x those; a misplaced bit or nibble gives
// errors of order 1.
INSTANTIATE_TEST_SUITE_P(
    AllFiles, QuantGgufTest,
    ::testing::Values(Case{"F16", DType::kF16, 3e-4}, Case{"BF16", DType::kBF16, 2.5e-3},
                      Case{"Q8_0", DType::kQ8_0, 7.5e-3}, Case{"Q6_K", DType::kQ6_K, 2.5e-2},
                      Case{"Q4_K", DType::kQ4_K, 0.10}, Case{"Q4_0", DType::kQ4_0, 0.12}),
    [](const auto& info) { return std::string(info.param.file); });

// Our quantizers on the same weights: within 1.6x of llama.cpp's error for
// each type (ours use a plain min/max search, llama.cpp an iterative one).
TEST(QuantGgufTest, OurQuantizersComparableToLlamaCpp) {
  auto ref = GgufFile::Open(QuantTestPath("f32"));
  ASSERT_TRUE(ref.ok()) << ref.status().ToString();
  for (const char* file : {"Q8_0", "Q6_K", "Q4_K", "Q4_0"}) {
    auto q = GgufFile::Open(QuantTestPath(file));
    ASSERT_TRUE(q.ok()) << q.status().ToString();
    for (const TensorInfo& t : (*q)->tensors()) {
      if (t.type == DType::kF32) continue;
      const std::vector<float> x = Decode(*(*ref)->FindTensor(t.name));
      std::vector<uint8_t> bytes(t.n_bytes);
      const int64_t row = t.dims[0];
      for (int64_t r = 0; r < t.n_elements() / row; ++r) {
        QuantizeRow(t.type, x.data() + r * row, bytes.data() + r * RowBytes(t.type, row), row);
      }
      TensorInfo ours = t;
      ours.data = bytes.data();
      const double theirs_err = RelRms(x, Decode(t));
      const double ours_err = RelRms(x, Decode(ours));
      EXPECT_LT(ours_err, 1.6 * theirs_err) << file << " " << t.name << " " << DTypeName(t.type);
    }
  }
}

}  // namespace
}  // namespace kvs
