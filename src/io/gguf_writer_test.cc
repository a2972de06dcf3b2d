#include "io/gguf_writer.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstring>

#include "io/gguf_reader.h"

namespace kvs {
namespace {

std::string TempPath(const std::string& name) {
  return std::string(KVS_BUILD_DIR) + "/io_gguf_writer_test_" + name + ".gguf";
}

TEST(GgufWriterTest, EveryValueTypeRoundTrips) {
  GgufWriter w;
  w.SetU8("t.u8", 200);
  w.SetI8("t.i8", -100);
  w.SetU16("t.u16", 60000);
  w.SetI16("t.i16", -30000);
  w.SetU32("t.u32", 4000000000u);
  w.SetI32("t.i32", -2000000000);
  w.SetF32("t.f32", 1.5f);
  w.SetBool("t.bool", true);
  w.SetString("t.string", std::string("h\xC3\xA9llo\0x", 8));
  w.SetU64("t.u64", 18000000000000000000ull);
  w.SetI64("t.i64", -9000000000000000000ll);
  w.SetF64("t.f64", 0.1);
  const int32_t ints[] = {1, -2, 3};
  w.SetScalarArray("t.arr_i32", GgufType::kI32, ints, 3);
  const double doubles[] = {0.25, -8.0};
  w.SetScalarArray("t.arr_f64", GgufType::kF64, doubles, 2);
  w.SetStringArray("t.arr_str", {"a", "", "\xE2\x96\x81the"});
  w.SetU32("t.replaced", 1);
  w.SetU32("t.replaced", 2);  // replaces, keeps position
  const std::string path = TempPath("values");
  ASSERT_TRUE(w.WriteFile(path, nullptr).ok());

  auto f = GgufFile::Open(path);
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  const GgufFile& g = **f;
  EXPECT_EQ(g.version(), 3u);
  EXPECT_EQ(g.metadata().size(), 16u);
  EXPECT_EQ(g.Find("t.u8")->type, GgufType::kU8);
  EXPECT_EQ(g.Find("t.u8")->AsInt(), 200);
  EXPECT_EQ(g.Find("t.i8")->AsInt(), -100);
  EXPECT_EQ(g.Find("t.u16")->AsInt(), 60000);
  EXPECT_EQ(g.Find("t.i16")->AsInt(), -30000);
  EXPECT_EQ(*g.GetU32("t.u32"), 4000000000u);
  EXPECT_EQ(g.Find("t.i32")->AsInt(), -2000000000);
  EXPECT_EQ(*g.GetF32("t.f32"), 1.5f);
  EXPECT_EQ(*g.GetBool("t.bool"), true);
  EXPECT_EQ(*g.GetString("t.string"), std::string("h\xC3\xA9llo\0x", 8));
  EXPECT_EQ(*g.GetU64("t.u64"), 18000000000000000000ull);
  EXPECT_EQ(g.Find("t.u64")->AsInt(), std::nullopt);  // above INT64_MAX
  EXPECT_EQ(g.Find("t.i64")->AsInt(), -9000000000000000000ll);
  EXPECT_EQ(g.Find("t.f64")->AsDouble(), 0.1);
  EXPECT_EQ(*g.GetI32Array("t.arr_i32"), (std::vector<int32_t>{1, -2, 3}));
  EXPECT_EQ(*g.GetF32Array("t.arr_f64"), (std::vector<float>{0.25f, -8.f}));
  EXPECT_EQ(*g.GetStringArray("t.arr_str"),
            (std::vector<std::string>{"a", "", "\xE2\x96\x81the"}));
  EXPECT_EQ(*g.GetU32("t.replaced"), 2u);
  EXPECT_EQ(g.metadata().back().first, "t.replaced");

  // Typed getters convert what fits and refuse the rest, naming key and type.
  EXPECT_EQ(*g.GetU32("t.u8"), 200u);
  EXPECT_FALSE(g.GetU32("t.i8").ok());
  EXPECT_FALSE(g.GetU32("t.u64").ok());
  EXPECT_EQ(*g.GetF32("t.f64"), 0.1f);
  auto bad = g.GetString("t.u32");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("t.u32"), std::string::npos);
  EXPECT_NE(bad.status().message().find("u32"), std::string::npos);
  EXPECT_EQ(g.GetBool("no.such.key").status().code(), StatusCode::kNotFound);
  EXPECT_FALSE(g.GetI32Array("t.arr_str").ok());
  std::remove(path.c_str());
}

// Nested arrays (array of arrays) cannot be built with the typed setters;
// SetValue copies them from a file, which also covers GGUF-to-GGUF copies.
TEST(GgufWriterTest, NestedArraysCopyThroughSetValue) {
  // Hand-encoded: key "n", array of 2 arrays: [u16 7, 8], [string "x"].
  std::string b = "GGUF";
  auto u32 = [&](uint32_t v) { b.append(reinterpret_cast<const char*>(&v), 4); };
  auto u64 = [&](uint64_t v) { b.append(reinterpret_cast<const char*>(&v), 8); };
  u32(3);
  u64(0);
  u64(1);
  u64(1);
  b += "n";
  u32(9);  // array
  u32(9);  // of arrays
  u64(2);
  u32(2);  // u16
  u64(2);
  b += std::string("\x07\x00\x08\x00", 4);
  u32(8);  // string
  u64(1);
  u64(1);
  b += "x";
  auto src = GgufFile::OpenBuffer(std::vector<uint8_t>(b.begin(), b.end()));
  ASSERT_TRUE(src.ok()) << src.status().ToString();
  const GgufValue* n = (*src)->Find("n");
  ASSERT_NE(n, nullptr);
  EXPECT_EQ(n->ToString(), "[[7, 8], [\"x\"]]");

  GgufWriter w;
  w.SetValue("copy", *n);
  GgufValue str;
  str.type = GgufType::kString;
  str.str = "str";
  w.SetValue("s", str);
  const std::string path = TempPath("nested");
  ASSERT_TRUE(w.WriteFile(path, nullptr).ok());
  auto f = GgufFile::Open(path);
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  EXPECT_EQ((*f)->Find("copy")->ToString(), "[[7, 8], [\"x\"]]");
  EXPECT_EQ(*(*f)->GetString("s"), "str");
  std::remove(path.c_str());
}

TEST(GgufWriterTest, TensorsAlignedAndStreamed) {
  GgufWriter w;
  w.SetString("general.architecture", "test");
  ASSERT_TRUE(w.AddTensor("a", DType::kF32, {3}).ok());
  ASSERT_TRUE(w.AddTensor("b", DType::kQ8_0, {64, 2}).ok());
  ASSERT_TRUE(w.AddTensor("c", DType::kF16, {5, 1, 1, 2}).ok());
  std::vector<std::vector<uint8_t>> data = {std::vector<uint8_t>(12), std::vector<uint8_t>(136),
                                            std::vector<uint8_t>(20)};
  for (size_t i = 0; i < data.size(); ++i) {
    for (size_t j = 0; j < data[i].size(); ++j) data[i][j] = static_cast<uint8_t>(i * 50 + j);
  }
  std::vector<size_t> progress;
  const std::string path = TempPath("tensors");
  Status s = w.WriteFile(
      path,
      [&](size_t i, TensorSink& sink) -> Status {
        // In two pieces, to exercise streaming.
        KVS_RETURN_IF_ERROR(sink.Write(data[i].data(), 5));
        return sink.Write(data[i].data() + 5, data[i].size() - 5);
      },
      [&](size_t done, size_t total, uint64_t) {
        EXPECT_EQ(total, 3u);
        progress.push_back(done);
      });
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(progress, (std::vector<size_t>{1, 2, 3}));
  auto f = GgufFile::Open(path);
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  ASSERT_EQ((*f)->tensors().size(), 3u);
  EXPECT_EQ((*f)->data_offset() % 32, 0u);
  const char* names[] = {"a", "b", "c"};
  for (size_t i = 0; i < 3; ++i) {
    const TensorInfo* t = (*f)->FindTensor(names[i]);
    ASSERT_NE(t, nullptr);
    EXPECT_EQ(t->offset % 32, 0u);
    ASSERT_EQ(t->n_bytes, data[i].size());
    EXPECT_EQ(std::memcmp(t->data, data[i].data(), t->n_bytes), 0) << names[i];
  }
  EXPECT_EQ((*f)->FindTensor("c")->dims, (std::vector<int64_t>{5, 1, 1, 2}));
  EXPECT_EQ((*f)->FindTensor("b")->type, DType::kQ8_0);
  std::remove(path.c_str());
}

TEST(GgufWriterTest, WrongSizesFailAndLeaveNoFile) {
  GgufWriter w;
  ASSERT_TRUE(w.AddTensor("t", DType::kF32, {4}).ok());
  const std::string path = TempPath("short");
  std::remove(path.c_str());
  float v[5] = {};
  Status s = w.WriteFile(path, [&](size_t, TensorSink& sink) { return sink.Write(v, 12); });
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("'t'"), std::string::npos) << s.message();
  EXPECT_EQ(std::fopen(path.c_str(), "rb"), nullptr);
  EXPECT_EQ(std::fopen((path + ".tmp").c_str(), "rb"), nullptr);
  s = w.WriteFile(path, [&](size_t, TensorSink& sink) { return sink.Write(v, 20); });
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("'t'"), std::string::npos) << s.message();
  s = w.WriteFile("/nonexistent/dir/x.gguf", [&](size_t, TensorSink& sink) { return sink.Write(v, 16); });
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("/nonexistent/dir/x.gguf"), std::string::npos) << s.message();
}

TEST(GgufWriterTest, AddTensorRejectsBadShapes) {
  GgufWriter w;
  EXPECT_TRUE(w.AddTensor("ok", DType::kQ4_K, {256, 3}).ok());
  Status s = w.AddTensor("ok", DType::kF32, {1});
  EXPECT_NE(s.message().find("duplicate"), std::string::npos) << s.message();
  s = w.AddTensor("rows", DType::kQ4_0, {48, 2});
  EXPECT_NE(s.message().find("block size 32"), std::string::npos) << s.message();
  EXPECT_FALSE(w.AddTensor("five", DType::kF32, {1, 1, 1, 1, 1}).ok());
  EXPECT_FALSE(w.AddTensor("zero", DType::kF32, {0}).ok());
  EXPECT_FALSE(w.AddTensor("none", DType::kF32, {}).ok());
  EXPECT_EQ(w.n_tensors(), 1u);
}

}  // namespace
}  // namespace kvs
