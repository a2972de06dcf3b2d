#include "io/safetensors_reader.h"

#include <gtest/gtest.h>

#include <cstring>
#include <random>

namespace kvs {
namespace {

// A file from a header (JSON text) and a data section.
std::vector<uint8_t> Build(const std::string& header, const std::vector<uint8_t>& data) {
  std::vector<uint8_t> f(8);
  uint64_t n = header.size();
  for (int i = 0; i < 8; ++i) f[i] = static_cast<uint8_t>(n >> (8 * i));
  f.insert(f.end(), header.begin(), header.end());
  f.insert(f.end(), data.begin(), data.end());
  return f;
}

std::vector<uint8_t> Bytes(size_t n) {
  std::vector<uint8_t> b(n);
  for (size_t i = 0; i < n; ++i) b[i] = static_cast<uint8_t>(i * 7 + 1);
  return b;
}

std::string Error(const std::string& header, size_t data_bytes) {
  auto f = SafetensorsFile::OpenBuffer(Build(header, Bytes(data_bytes)), "t.safetensors");
  EXPECT_FALSE(f.ok()) << header;
  return f.ok() ? "" : f.status().message();
}

TEST(SafetensorsTest, ReadsTensorsInGgufDimOrderWithMetadata) {
  // 2x3 F32 (24 bytes), then 4 BF16 (8), then a 1x2 F16 (4); in the header
  // out of data order, as writers are free to do.
  const std::string header = R"({"b": {"dtype": "BF16", "shape": [4], "data_offsets": [24, 32]},
      "__metadata__": {"format": "pt"},
      "a": {"dtype": "F32", "shape": [2, 3], "data_offsets": [0, 24]},
      "c": {"dtype": "F16", "shape": [1, 2], "data_offsets": [32, 36]}})";
  const std::vector<uint8_t> data = Bytes(36);
  auto f = SafetensorsFile::OpenBuffer(Build(header, data));
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  ASSERT_EQ((*f)->tensors().size(), 3u);
  const TensorInfo* a = (*f)->FindTensor("a");
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->type, DType::kF32);
  EXPECT_EQ(a->dims, (std::vector<int64_t>{3, 2}));  // cols first
  EXPECT_EQ(a->n_bytes, 24u);
  EXPECT_EQ(std::memcmp(a->data, data.data(), 24), 0);
  const TensorInfo* b = (*f)->FindTensor("b");
  EXPECT_EQ(b->type, DType::kBF16);
  EXPECT_EQ(b->dims, (std::vector<int64_t>{4}));
  EXPECT_EQ(std::memcmp(b->data, data.data() + 24, 8), 0);
  EXPECT_EQ((*f)->FindTensor("c")->type, DType::kF16);
  EXPECT_EQ((*f)->FindTensor("c")->dims, (std::vector<int64_t>{2, 1}));
  EXPECT_EQ((*f)->FindTensor("d"), nullptr);
  EXPECT_EQ((*f)->metadata().at("format"), "pt");
}

TEST(SafetensorsTest, EachDamageIsNamed) {
  const char* ok_entry = R"("a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]})";
  struct Case {
    std::string header;
    size_t data;
    std::string want;
  } cases[] = {
      {"{" + std::string(ok_entry) + "", 8, "not valid JSON"},
      {"[1, 2]", 0, "not a JSON object"},
      {R"({"a": {"dtype": "I8", "shape": [8], "data_offsets": [0, 8]}})", 8, "dtype I8, which kvserve does not read"},
      {R"({"a": {"dtype": "Q9", "shape": [8], "data_offsets": [0, 8]}})", 8, "not a safetensors dtype"},
      {R"({"a": {"dtype": "F32", "shape": [3], "data_offsets": [0, 8]}})", 8, "make 12 bytes but data_offsets span 8"},
      {R"({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 16]}})", 8, "outside the 8-byte data section"},
      {R"({"a": {"dtype": "F32", "shape": [2], "data_offsets": [8, 0]}})", 8, "outside"},
      {R"({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
           "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}})", 12, "overlaps"},
      {R"({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
           "b": {"dtype": "F32", "shape": [1], "data_offsets": [12, 16]}})", 16, "leaves a hole"},
      {"{" + std::string(ok_entry) + "}", 12, "cover 8 of the data section's 12 bytes"},
      {R"({"a": {"shape": [2], "data_offsets": [0, 8]}})", 8, "no string \"dtype\""},
      {R"({"a": {"dtype": "F32", "data_offsets": [0, 8]}})", 8, "no array \"shape\""},
      {R"({"a": {"dtype": "F32", "shape": [2], "data_offsets": [-1, 8]}})", 8, "data_offsets"},
      {R"({"a": {"dtype": "F32", "shape": [2, -1], "data_offsets": [0, 8]}})", 8, "positive integers"},
      {R"({"a": {"dtype": "F32", "shape": [1,1,1,1,2], "data_offsets": [0, 8]}})", 8, "5 dims"},
      {R"({"a": 7})", 0, "tensor 'a' is not an object"},
      {R"({"__metadata__": {"k": 1}})", 0, "__metadata__ value of 'k' is not a string"},
  };
  for (const Case& c : cases) {
    const std::string e = Error(c.header, c.data);
    EXPECT_NE(e.find(c.want), std::string::npos) << c.header << "\n -> " << e;
    EXPECT_NE(e.find("t.safetensors"), std::string::npos) << e;
  }
}

TEST(SafetensorsTest, HeaderLengthIsChecked) {
  auto tiny = SafetensorsFile::OpenBuffer({1, 2, 3});
  ASSERT_FALSE(tiny.ok());
  EXPECT_NE(tiny.status().message().find("shorter than"), std::string::npos);
  std::vector<uint8_t> past = Build("{}", {});
  past[0] = 200;  // claims a 200-byte header in a 10-byte file
  auto p = SafetensorsFile::OpenBuffer(past);
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.status().message().find("runs past the end"), std::string::npos);
  std::vector<uint8_t> huge = Build("{}", {});
  huge[7] = 0x7f;  // ~2^62 bytes
  auto h = SafetensorsFile::OpenBuffer(huge);
  ASSERT_FALSE(h.ok());
  EXPECT_NE(h.status().message().find("over the limit"), std::string::npos);
}

TEST(SafetensorsTest, DeeplyNestedHeaderIsRefusedBeforeParsing) {
  // 1M levels would overflow a recursive parser's stack.
  const std::string deep = R"({"a": )" + std::string(1 << 20, '[') + std::string(1 << 20, ']') + "}";
  const std::string e = Error(deep, 0);
  EXPECT_NE(e.find("nested deeper than"), std::string::npos) << e.substr(0, 200);
  // Brackets inside strings (escaped quotes too) are not nesting.
  EXPECT_EQ(JsonNestingDepth(R"({"a\"[[[": "]]]{{{", "b": [[1]]})", 100), 3);
  EXPECT_EQ(JsonNestingDepth(std::string(50, '['), 10), 11);
}

TEST(SafetensorsTest, RandomDamageNeverCrashes) {
  const std::string header = R"({"a": {"dtype": "F32", "shape": [2, 3], "data_offsets": [0, 24]},
      "b": {"dtype": "BF16", "shape": [4], "data_offsets": [24, 32]}})";
  const std::vector<uint8_t> good = Build(header, Bytes(32));
  std::mt19937 rng(5);
  int parsed = 0;
  for (int i = 0; i < 3000; ++i) {
    std::vector<uint8_t> f = good;
    const int n = 1 + static_cast<int>(rng() % 4);
    for (int j = 0; j < n; ++j) f[rng() % f.size()] = static_cast<uint8_t>(rng());
    if (rng() % 4 == 0) f.resize(rng() % f.size());
    auto r = SafetensorsFile::OpenBuffer(std::move(f));
    if (r.ok()) {
      ++parsed;
      for (const TensorInfo& t : (*r)->tensors()) {
        // In bounds: touch the first and last byte.
        if (t.n_bytes > 0) {
          volatile uint8_t x = static_cast<const uint8_t*>(t.data)[0] +
                               static_cast<const uint8_t*>(t.data)[t.n_bytes - 1];
          (void)x;
        }
      }
    } else {
      EXPECT_FALSE(r.status().message().empty());
    }
  }
  EXPECT_GT(parsed, 0);  // some damage lands in the data, which is fine
}

}  // namespace
}  // namespace kvs
