// Corrupt, truncated and hostile GGUF files: each must give a non-OK Status
// whose message names the problem, never a crash or an out-of-bounds read
// (run these under ASan to make the latter visible; the fuzzer
// gguf_reader_fuzz.cc explores further).
#include <gtest/gtest.h>

#include <cstring>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

#include "io/gguf_reader.h"

namespace kvs {
namespace {

std::vector<uint8_t> ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::vector<uint8_t>((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

const std::vector<uint8_t>& RealFile() {
  static const std::vector<uint8_t>* bytes =
      new std::vector<uint8_t>(ReadAll(std::string(KVS_SHARED_DIR) + "/models/stories260K-f32.gguf"));
  return *bytes;
}

// Builds GGUF bytes field by field.
class Builder {
 public:
  Builder& U32(uint32_t v) { return Raw(&v, 4); }
  Builder& U64(uint64_t v) { return Raw(&v, 8); }
  Builder& Str(std::string_view s) {
    U64(s.size());
    return Raw(s.data(), s.size());
  }
  Builder& Raw(const void* p, size_t n) {
    bytes_.insert(bytes_.end(), static_cast<const uint8_t*>(p), static_cast<const uint8_t*>(p) + n);
    return *this;
  }
  Builder& Header(uint64_t n_tensors, uint64_t n_kv, uint32_t version = 3) {
    Raw("GGUF", 4);
    U32(version);
    U64(n_tensors);
    return U64(n_kv);
  }
  // A key with a u32 value.
  Builder& KvU32(std::string_view key, uint32_t v) { return Str(key).U32(4).U32(v); }
  // A tensor info: name, dims, ggml type, offset.
  Builder& Tensor(std::string_view name, const std::vector<uint64_t>& dims, uint32_t type,
                  uint64_t offset) {
    Str(name).U32(static_cast<uint32_t>(dims.size()));
    for (uint64_t d : dims) U64(d);
    return U32(type).U64(offset);
  }
  Builder& PadTo(size_t alignment) {
    while (bytes_.size() % alignment) bytes_.push_back(0);
    return *this;
  }
  Builder& Zeros(size_t n) {
    bytes_.resize(bytes_.size() + n);
    return *this;
  }
  const std::vector<uint8_t>& bytes() const { return bytes_; }

 private:
  std::vector<uint8_t> bytes_;
};

// Expects parsing to fail with a message containing every one of `parts`.
void ExpectError(const std::vector<uint8_t>& bytes, std::initializer_list<std::string> parts) {
  auto f = GgufFile::OpenBuffer(bytes, "corrupt.gguf");
  ASSERT_FALSE(f.ok()) << "parsed a corrupt file";
  const std::string& m = f.status().message();
  EXPECT_NE(m.find("corrupt.gguf"), std::string::npos) << m;
  for (const std::string& p : parts) EXPECT_NE(m.find(p), std::string::npos) << "want '" << p << "' in: " << m;
}

TEST(GgufCorruptTest, ValidHandBuiltFileParses) {
  Builder b;
  b.Header(1, 1).KvU32("k", 7).Tensor("t", {32, 2}, 8, 0).PadTo(32).Zeros(68);
  auto f = GgufFile::OpenBuffer(b.bytes());
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  EXPECT_EQ((*f)->tensors()[0].n_bytes, 68u);
}

TEST(GgufCorruptTest, TruncatedAnywhereInHeaderAndTable) {
  const auto& full = RealFile();
  auto file = GgufFile::OpenBuffer(full);
  ASSERT_TRUE(file.ok()) << file.status().ToString();
  uint64_t end = 0;
  for (const TensorInfo& t : (*file)->tensors()) end = std::max(end, t.offset + t.n_bytes);
  const uint64_t data_end = (*file)->data_offset() + end;
  // Every 5 bytes through the metadata and tensor table, then every 4099
  // bytes through the data.
  for (size_t cut = 0; cut < data_end; cut += cut < (*file)->data_offset() ? 5 : 4099) {
    std::vector<uint8_t> prefix(full.begin(), full.begin() + static_cast<std::ptrdiff_t>(cut));
    auto f = GgufFile::OpenBuffer(std::move(prefix), "cut.gguf");
    ASSERT_FALSE(f.ok()) << "truncated at " << cut << " parsed";
    const std::string& m = f.status().message();
    const bool named = m.find("truncated") != std::string::npos ||
                       m.find("runs past the end") != std::string::npos ||
                       m.find("too large") != std::string::npos;
    ASSERT_TRUE(named) << "cut at " << cut << ": " << m;
  }
}

TEST(GgufCorruptTest, BadMagicAndVersion) {
  std::vector<uint8_t> b = RealFile();
  b[0] = 'X';
  ExpectError(b, {"bad magic", "offset 4"});
  ExpectError(Builder().Header(0, 0, 1).bytes(), {"unsupported GGUF version 1"});
  ExpectError(Builder().Header(0, 0, 4).bytes(), {"unsupported GGUF version 4"});
  ExpectError({'G', 'G'}, {"magic", "truncated"});
  ExpectError({}, {"magic"});
}

TEST(GgufCorruptTest, HugeCountsAndLengths) {
  ExpectError(Builder().Header(1ull << 40, 0).bytes(), {"tensor count 1099511627776"});
  ExpectError(Builder().Header(0, 1ull << 62).bytes(), {"metadata count"});
  // A key whose string length is 2^63.
  ExpectError(Builder().Header(0, 1).U64(1ull << 63).Zeros(16).bytes(),
              {"metadata key", "9223372036854775808", "offset 32"});
  // A string value of length 2^64 - 1.
  ExpectError(Builder().Header(0, 1).Str("k").U32(8).U64(~0ull).bytes(),
              {"string value", "18446744073709551615", "key 'k'"});
  // An array of 2^61 u64 elements, and of 2^60 strings.
  ExpectError(Builder().Header(0, 1).Str("k").U32(9).U32(10).U64(1ull << 61).bytes(),
              {"array of 2305843009213693952 u64"});
  ExpectError(Builder().Header(0, 1).Str("k").U32(9).U32(8).U64(1ull << 60).bytes(),
              {"string elements runs past the end"});
  // The same through the real file: overwrite n_tensors, then n_kv.
  std::vector<uint8_t> b = RealFile();
  const uint64_t huge = 1ull << 50;
  std::memcpy(b.data() + 8, &huge, 8);
  ExpectError(b, {"tensor count"});
  b = RealFile();
  std::memcpy(b.data() + 16, &huge, 8);
  ExpectError(b, {"metadata count"});
  b = RealFile();
  std::memcpy(b.data() + 24, &huge, 8);  // first key's length
  ExpectError(b, {"metadata key", "offset 32"});
}

TEST(GgufCorruptTest, UnknownTypes) {
  ExpectError(Builder().Header(0, 1).Str("k").U32(13).bytes(), {"unknown value type 13", "'k'"});
  ExpectError(Builder().Header(0, 1).Str("k").U32(9).U32(77).U64(0).bytes(),
              {"unknown array element type 77"});
  ExpectError(Builder().Header(1, 0).Tensor("w", {32}, 99, 0).bytes(),
              {"tensor 'w'", "unsupported tensor type 99", "not a ggml type"});
  // Real ggml types that kvserve does not read are named.
  ExpectError(Builder().Header(1, 0).Tensor("blk.0.w", {256}, 16, 0).bytes(),
              {"tensor 'blk.0.w'", "unsupported tensor type 16", "IQ2_XXS"});
  ExpectError(Builder().Header(1, 0).Tensor("w", {32}, 9, 0).bytes(), {"type 9", "Q8_1"});
  ExpectError(Builder().Header(1, 0).Tensor("w", {32}, 39, 0).bytes(), {"type 39", "MXFP4"});
  ExpectError(Builder().Header(1, 0).Tensor("w", {32}, 42, 0).bytes(), {"type 42", "Q2_0"});
  ExpectError(Builder().Header(1, 0).Tensor("w", {32}, 4, 0).bytes(), {"type 4", "not a ggml type"});
  ExpectError(Builder().Header(1, 0).Tensor("w", {32}, 43, 0).bytes(), {"type 43", "not a ggml type"});
  ExpectError(Builder().Header(0, 1).Str("b").U32(7).Raw("\x02", 1).bytes(), {"bool value 2"});
}

TEST(GgufCorruptTest, BadTensorShapes) {
  ExpectError(Builder().Header(1, 0).Tensor("t", {1, 1, 1, 1, 1}, 0, 0).bytes(),
              {"tensor 't' has 5 dims"});
  ExpectError(Builder().Header(1, 0).Tensor("t", {}, 0, 0).bytes(), {"tensor 't' has 0 dims"});
  ExpectError(Builder().Header(1, 0).Tensor("t", {4, 0}, 0, 0).bytes(), {"invalid dim 0"});
  ExpectError(Builder().Header(1, 0).Tensor("t", {1ull << 63}, 0, 0).bytes(), {"invalid dim"});
  ExpectError(Builder().Header(1, 0).Tensor("t", {1ull << 32, 1ull << 32}, 0, 0).bytes(),
              {"tensor 't'", "overflows"});
  ExpectError(Builder().Header(1, 0).Tensor("t", {1ull << 62, 4}, 0, 0).bytes(),
              {"tensor 't'", "overflows"});
  ExpectError(Builder().Header(1, 0).Tensor("q", {100, 2}, 12, 0).bytes(),
              {"tensor 'q'", "row length 100", "Q4_K block size 256"});
}

TEST(GgufCorruptTest, BadOffsetsAndAlignment) {
  ExpectError(Builder().Header(1, 0).Tensor("t", {4}, 0, 8).PadTo(32).Zeros(64).bytes(),
              {"tensor 't'", "offset 8", "alignment 32"});
  ExpectError(Builder().Header(1, 0).Tensor("t", {64}, 0, 0).PadTo(32).Zeros(255).bytes(),
              {"tensor 't'", "runs past the end"});
  ExpectError(Builder().Header(1, 0).Tensor("t", {4}, 0, 1ull << 63).PadTo(32).bytes(),
              {"tensor 't'", "runs past the end"});
  ExpectError(Builder().Header(1, 0).Tensor("t", {4}, 0, ~0ull - 31).PadTo(32).Zeros(16).bytes(),
              {"tensor 't'", "runs past the end"});
  ExpectError(Builder().Header(0, 1).KvU32("general.alignment", 3).bytes(),
              {"general.alignment 3"});
  ExpectError(Builder().Header(0, 1).KvU32("general.alignment", 0).bytes(),
              {"general.alignment 0"});
  ExpectError(Builder().Header(0, 1).Str("general.alignment").U32(8).Str("32").bytes(),
              {"general.alignment"});
  // A larger alignment moves the data section and constrains offsets.
  Builder ok;
  ok.Header(1, 1).KvU32("general.alignment", 64).Tensor("t", {4}, 0, 0).PadTo(64).Zeros(16);
  auto f = GgufFile::OpenBuffer(ok.bytes());
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  EXPECT_EQ((*f)->data_offset() % 64, 0u);
}

TEST(GgufCorruptTest, Duplicates) {
  ExpectError(Builder().Header(0, 2).KvU32("a.b", 1).KvU32("a.b", 2).bytes(),
              {"duplicate metadata key 'a.b'"});
  ExpectError(Builder()
                  .Header(2, 0)
                  .Tensor("w", {8}, 0, 0)
                  .Tensor("w", {8}, 0, 32)
                  .PadTo(32)
                  .Zeros(64)
                  .bytes(),
              {"duplicate tensor name 'w'"});
}

TEST(GgufCorruptTest, DeeplyNestedArrays) {
  Builder b;
  b.Header(0, 1).Str("k").U32(9);
  for (int i = 0; i < 100; ++i) b.U32(9).U64(1);
  b.U32(0).U64(0);
  ExpectError(b.bytes(), {"nested deeper"});
}

// Seeded random damage to the header and tables of a real file: whatever
// the result, no crash, and a failure always carries a message.
TEST(GgufCorruptTest, RandomByteDamageNeverCrashes) {
  const auto& full = RealFile();
  auto file = GgufFile::OpenBuffer(full);
  ASSERT_TRUE(file.ok());
  const size_t header = (*file)->data_offset();
  std::mt19937 rng(42);
  int n_failed = 0;
  for (int iter = 0; iter < 300; ++iter) {
    std::vector<uint8_t> b(full.begin(), full.begin() + static_cast<std::ptrdiff_t>(header + 4096));
    const int n_flips = 1 + iter % 4;
    for (int k = 0; k < n_flips; ++k) {
      const size_t pos = rng() % header;
      b[pos] = static_cast<uint8_t>(iter % 3 == 0 ? 0xFF : rng());
    }
    auto f = GgufFile::OpenBuffer(std::move(b), "damaged.gguf");
    if (!f.ok()) {
      ++n_failed;
      EXPECT_FALSE(f.status().message().empty());
    }
  }
  // The file is cut after 4 KiB of data, so nearly every run must fail.
  EXPECT_GT(n_failed, 250);
}

}  // namespace
}  // namespace kvs
