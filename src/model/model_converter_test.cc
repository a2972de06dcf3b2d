#include "model/model_converter.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstring>

#include "io/gguf_reader.h"
#include "tensor/quant.h"

namespace kvs {
namespace {

const std::string kModels = std::string(KVS_SHARED_DIR) + "/models/";

std::string TempPath(const std::string& name) {
  return std::string(KVS_BUILD_DIR) + "/io_model_converter_test_" + name + ".gguf";
}

std::unique_ptr<Model> OpenStories() {
  auto m = Model::Load(kModels + "stories260K.bin", kModels + "tok512.bin");
  KVS_CHECK(m.ok()) << m.status().ToString();
  return std::move(m).value();
}

TEST(ModelConverterTest, F32IsBitIdenticalAndLoadsBack) {
  auto in = OpenStories();
  const std::string path = TempPath("f32");
  size_t last_done = 0;
  Status s = ConvertToGguf(*in, path, DType::kF32,
                           [&](size_t done, size_t, uint64_t) { last_done = done; });
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(last_done, in->file().tensors().size());
  auto out = Model::Load(path, "");
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ((*out)->file().format(), "gguf");
  const ModelConfig& a = in->config();
  const ModelConfig& b = (*out)->config();
  EXPECT_EQ(b.dim, a.dim);
  EXPECT_EQ(b.hidden_dim, a.hidden_dim);
  EXPECT_EQ(b.n_layers, a.n_layers);
  EXPECT_EQ(b.n_heads, a.n_heads);
  EXPECT_EQ(b.n_kv_heads, a.n_kv_heads);
  EXPECT_EQ(b.n_vocab, a.n_vocab);
  EXPECT_EQ(b.context_length, a.context_length);
  EXPECT_EQ(b.norm_eps, a.norm_eps);
  EXPECT_EQ(b.head_dim, a.head_dim);
  EXPECT_EQ(b.rope_freq_base, a.rope_freq_base);
  ASSERT_EQ((*out)->file().tensors().size(), in->file().tensors().size());
  for (const TensorInfo& t : in->file().tensors()) {
    const TensorInfo* o = (*out)->file().FindTensor(t.name);
    ASSERT_NE(o, nullptr) << t.name;
    EXPECT_EQ(o->type, DType::kF32);
    EXPECT_EQ(o->dims, t.dims) << t.name;
    ASSERT_EQ(o->n_bytes, t.n_bytes) << t.name;
    EXPECT_EQ(std::memcmp(o->data, t.data, t.n_bytes), 0) << t.name;
  }
  std::remove(path.c_str());
}

// llama.cpp's own conversion of the same model and tokenizer is in
// stories260K-f32.gguf: our vocabulary metadata must match it exactly
// (U+2581 for spaces, "<s>" without llama2.c's newlines, scores, types, ids).
TEST(ModelConverterTest, VocabularyMatchesLlamaCppConversion) {
  auto in = OpenStories();
  const std::string path = TempPath("vocab");
  ASSERT_TRUE(ConvertToGguf(*in, path, DType::kF32).ok());
  auto ours = GgufFile::Open(path);
  auto theirs = GgufFile::Open(kModels + "stories260K-f32.gguf");
  ASSERT_TRUE(ours.ok() && theirs.ok());
  for (const char* key : {"tokenizer.ggml.tokens"}) {
    EXPECT_EQ(*(*ours)->GetStringArray(key), *(*theirs)->GetStringArray(key));
  }
  EXPECT_EQ(*(*ours)->GetF32Array("tokenizer.ggml.scores"),
            *(*theirs)->GetF32Array("tokenizer.ggml.scores"));
  EXPECT_EQ(*(*ours)->GetI32Array("tokenizer.ggml.token_type"),
            *(*theirs)->GetI32Array("tokenizer.ggml.token_type"));
  for (const char* key : {"tokenizer.ggml.bos_token_id", "tokenizer.ggml.eos_token_id",
                          "tokenizer.ggml.unknown_token_id", "llama.embedding_length",
                          "llama.feed_forward_length", "llama.block_count",
                          "llama.attention.head_count", "llama.attention.head_count_kv",
                          "llama.rope.dimension_count"}) {
    EXPECT_EQ(*(*ours)->GetU32(key), *(*theirs)->GetU32(key)) << key;
  }
  EXPECT_EQ(*(*ours)->GetString("tokenizer.ggml.model"), "llama");
  EXPECT_EQ(*(*ours)->GetString("general.architecture"), "llama");
  std::remove(path.c_str());
}

TEST(ModelConverterTest, F16WithinHalfPrecisionAndNormsStayF32) {
  auto in = OpenStories();
  const std::string path = TempPath("f16");
  ASSERT_TRUE(ConvertToGguf(*in, path, DType::kF16).ok());
  auto out = ModelFile::Open(path, "");
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(*(*out)->gguf()->GetU32("general.file_type"), 1u);
  for (const TensorInfo& t : in->file().tensors()) {
    const TensorInfo* o = (*out)->FindTensor(t.name);
    ASSERT_NE(o, nullptr);
    EXPECT_EQ(o->type, t.dims.size() == 1 ? DType::kF32 : DType::kF16) << t.name;
    std::vector<float> got(t.n_elements());
    DequantizeRow(o->type, o->data, got.data(), t.n_elements());
    const auto* want = static_cast<const float*>(t.data);
    for (int64_t i = 0; i < t.n_elements(); ++i) {
      // Half precision: 11 significant bits, so relative error <= 2^-11 (all
      // these weights are far above the subnormal range or exactly 0).
      ASSERT_LE(std::fabs(got[i] - want[i]), std::fabs(want[i]) * 0x1p-11f + 1e-7f)
          << t.name << "[" << i << "]";
    }
  }
  std::remove(path.c_str());
}

TEST(ModelConverterTest, QuantizedTypeNeedsWholeBlocks) {
  auto in = OpenStories();
  const std::string path = TempPath("q8");
  Status s = ConvertToGguf(*in, path, DType::kQ8_0);
  ASSERT_FALSE(s.ok());
  // ffn_down's rows are hidden_dim = 172 long, not a multiple of 32.
  EXPECT_NE(s.message().find("blk.0.ffn_down.weight"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("172"), std::string::npos) << s.message();
  EXPECT_EQ(std::fopen(path.c_str(), "rb"), nullptr);
}

// GGUF in, quantized GGUF out: a Q8_0 conversion of quant-test-f32 lands
// within Q8_0 error of the original.
TEST(ModelConverterTest, GgufToQ8_0) {
  auto in = Model::Load(kModels + "quant-test/quant-test-f32.gguf", "");
  ASSERT_TRUE(in.ok()) << in.status().ToString();
  const std::string path = TempPath("quant_q8");
  ASSERT_TRUE(ConvertToGguf(**in, path, DType::kQ8_0).ok());
  auto out = ModelFile::Open(path, "");
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ((*out)->vocab().pieces, (*in)->file().vocab().pieces);
  const TensorInfo* o = (*out)->FindTensor("blk.1.ffn_down.weight");
  const TensorInfo* r = (*in)->file().FindTensor("blk.1.ffn_down.weight");
  ASSERT_EQ(o->type, DType::kQ8_0);
  std::vector<float> got(r->n_elements());
  for (int64_t row = 0; row < r->dims[1]; ++row) {
    DequantizeRow(DType::kQ8_0, static_cast<const uint8_t*>(o->data) + row * RowBytes(DType::kQ8_0, r->dims[0]),
                  got.data() + row * r->dims[0], r->dims[0]);
  }
  double num = 0, den = 0;
  const auto* want = static_cast<const float*>(r->data);
  for (int64_t i = 0; i < r->n_elements(); ++i) {
    num += (got[i] - want[i]) * double(got[i] - want[i]);
    den += want[i] * double(want[i]);
  }
  EXPECT_LT(std::sqrt(num / den), 7.5e-3);
  std::remove(path.c_str());
}

}  // namespace
}  // namespace kvs
