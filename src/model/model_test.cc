// Loading each family and refusing bad files: every error names the key or
// tensor at fault. The files are tiny GGUFs written here (tok512's
// vocabulary, zero weights) with one thing changed at a time.
#include "model/model.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <functional>
#include <limits>
#include <set>

#include "io/gguf_writer.h"
#include "io/llama2c_reader.h"
#include "model/model_converter.h"

namespace kvs {
namespace {

const std::string kModelDir = std::string(KVS_SHARED_DIR) + "/models/";

ModelConfig TinyConfig(const std::string& arch) {
  ModelConfig c;
  c.arch = arch;
  c.n_vocab = 512;
  c.dim = 64;
  c.hidden_dim = 96;
  c.n_layers = 2;
  c.n_heads = 4;
  c.n_kv_heads = 2;
  c.head_dim = arch == "qwen3" ? 32 : 16;  // qwen3: heads wider than dim / n_heads
  c.context_length = 128;
  return c;
}

struct Edit {
  std::function<void(GgufWriter&)> metadata;  // applied after the normal keys
  std::string drop_tensor;                    // left out of the file
  std::string transpose_tensor;               // dims swapped
  float rope_freq_value = 1.0f;
};

// Writes a model of `c`'s family with `edit` applied; returns its path,
// unique to this process (CTest runs each test case in its own, in parallel).
std::string WriteModel(const ModelConfig& c, const Edit& edit, const std::string& tag) {
  const std::string path = std::string(KVS_BUILD_DIR) + "/model_test_" + tag + "_" +
                           std::to_string(getpid()) + ".gguf";
  GgufWriter w;
  SetModelMetadata(c, DType::kF32, &w);
  auto vocab = ReadLlama2cTokenizer(kModelDir + "tok512.bin");
  KVS_CHECK(vocab.ok());
  SetVocabMetadata(*vocab, &w);
  if (edit.metadata) edit.metadata(w);
  struct T {
    std::string name;
    std::vector<int64_t> dims;
  };
  std::vector<T> ts = {{"token_embd.weight", {c.dim, c.n_vocab}},
                       {"output_norm.weight", {c.dim}},
                       {"rope_freqs.weight", {c.head_dim / 2}}};
  for (int l = 0; l < c.n_layers; ++l) {
    const std::string p = "blk." + std::to_string(l) + ".";
    for (auto& t : std::vector<T>{{p + "attn_norm.weight", {c.dim}},
                                  {p + "attn_q.weight", {c.dim, c.q_dim()}},
                                  {p + "attn_k.weight", {c.dim, c.kv_dim()}},
                                  {p + "attn_v.weight", {c.dim, c.kv_dim()}},
                                  {p + "attn_output.weight", {c.q_dim(), c.dim}},
                                  {p + "ffn_norm.weight", {c.dim}},
                                  {p + "ffn_gate.weight", {c.dim, c.hidden_dim}},
                                  {p + "ffn_up.weight", {c.dim, c.hidden_dim}},
                                  {p + "ffn_down.weight", {c.hidden_dim, c.dim}}}) {
      ts.push_back(t);
    }
    if (c.arch == "qwen2") {
      ts.push_back({p + "attn_q.bias", {c.q_dim()}});
      ts.push_back({p + "attn_k.bias", {c.kv_dim()}});
      ts.push_back({p + "attn_v.bias", {c.kv_dim()}});
    }
    if (c.arch == "qwen3") {
      ts.push_back({p + "attn_q_norm.weight", {c.head_dim}});
      ts.push_back({p + "attn_k_norm.weight", {c.head_dim}});
    }
  }
  std::vector<T> kept;
  for (T& t : ts) {
    if (t.name == edit.drop_tensor) continue;
    if (t.name == edit.transpose_tensor) std::swap(t.dims[0], t.dims[1]);
    KVS_CHECK(w.AddTensor(t.name, DType::kF32, t.dims).ok());
    kept.push_back(t);
  }
  Status s = w.WriteFile(path, [&](size_t i, TensorSink& sink) -> Status {
    int64_t n = 1;
    for (int64_t d : kept[i].dims) n *= d;
    const float fill = kept[i].name == "rope_freqs.weight" ? edit.rope_freq_value : 0.0f;
    std::vector<float> v(n, fill);
    return sink.Write(v.data(), v.size() * sizeof(float));
  });
  KVS_CHECK(s.ok()) << s.ToString();
  return path;
}

Edit Metadata(std::function<void(GgufWriter&)> f) {
  Edit e;
  e.metadata = std::move(f);
  return e;
}
Edit Drop(std::string name) {
  Edit e;
  e.drop_tensor = std::move(name);
  return e;
}
Edit Transpose(std::string name) {
  Edit e;
  e.transpose_tensor = std::move(name);
  return e;
}
Edit RopeFreqs(float value) {
  Edit e;
  e.rope_freq_value = value;
  return e;
}

Status LoadError(const ModelConfig& c, const Edit& edit) {
  const std::string path = WriteModel(c, edit, "err");
  auto m = Model::Load(path, "");
  std::remove(path.c_str());
  return m.ok() ? Status::Ok() : m.status();
}

TEST(ModelTest, EachFamilyLoadsWithItsShapeAndRopeStyle) {
  for (const std::string arch : {"llama", "qwen2", "qwen3"}) {
    const std::string path = WriteModel(TinyConfig(arch), {}, arch);
    auto m = Model::Load(path, "");
    ASSERT_TRUE(m.ok()) << arch << ": " << m.status().ToString();
    const ModelConfig& c = (*m)->config();
    EXPECT_EQ(c.arch, arch);
    EXPECT_EQ(&(*m)->architecture(), *FindArchitecture(arch));
    EXPECT_EQ(c.head_dim, arch == "qwen3" ? 32 : 16) << arch;
    EXPECT_EQ(c.q_dim(), arch == "qwen3" ? 128 : 64) << arch;
    EXPECT_EQ(c.rope_style, arch == "llama" ? RopeStyle::kAdjacent : RopeStyle::kHalves);
    const LayerWeights& l1 = (*m)->weights().layers[1];
    EXPECT_EQ(l1.q_bias != nullptr, arch == "qwen2") << arch;
    EXPECT_EQ(l1.k_norm != nullptr, arch == "qwen3") << arch;
    EXPECT_EQ((*m)->weights().rope_freqs != nullptr, arch == "llama") << arch;
    // No output.weight: the classifier is the embedding.
    EXPECT_EQ((*m)->weights().output.data, (*m)->weights().token_embd.data);
    std::remove(path.c_str());
  }
}

TEST(ModelTest, UnknownArchitectureIsNamedWithTheSupportedOnes) {
  Status s = LoadError(TinyConfig("llama"), Metadata([](GgufWriter& w) {
                         w.SetString("general.architecture", "gemma3");
                       }));
  EXPECT_EQ(s.code(), StatusCode::kUnimplemented) << s.ToString();
  EXPECT_NE(s.message().find("'gemma3'"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("qwen3"), std::string::npos) << s.message();
}

TEST(ModelTest, HyperparametersOutOfRangeNameTheKey) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  struct Case {
    std::string key;
    std::function<void(GgufWriter&)> set;
  };
  const std::vector<Case> cases = {
      {"layer_norm_rms_epsilon", [&](GgufWriter& w) {
         w.SetF32("qwen2.attention.layer_norm_rms_epsilon", nan);
       }},
      {"layer_norm_rms_epsilon", [](GgufWriter& w) {
         w.SetF32("qwen2.attention.layer_norm_rms_epsilon", -1.0f);
       }},
      {"rope.dimension_count", [](GgufWriter& w) { w.SetU32("qwen2.rope.dimension_count", 0); }},
      {"rope.dimension_count",
       [](GgufWriter& w) { w.SetU32("qwen2.rope.dimension_count", 9999); }},
      {"context_length", [](GgufWriter& w) { w.SetU32("qwen2.context_length", 1); }},
      {"rope.freq_base", [&](GgufWriter& w) { w.SetF32("qwen2.rope.freq_base", nan); }},
      {"head_count_kv", [](GgufWriter& w) { w.SetU32("qwen2.attention.head_count_kv", 3); }},
      {"block_count", [](GgufWriter& w) { w.SetU32("qwen2.block_count", 0); }},
  };
  for (const Case& c : cases) {
    Status s = LoadError(TinyConfig("qwen2"), Metadata(c.set));
    ASSERT_FALSE(s.ok()) << c.key;
    EXPECT_NE(s.message().find(c.key), std::string::npos) << s.message();
  }
}

TEST(ModelTest, MissingOrMisshapenTensorsAreNamed) {
  Status s = LoadError(TinyConfig("qwen2"), Drop("blk.1.attn_v.bias"));
  EXPECT_EQ(s.code(), StatusCode::kNotFound) << s.ToString();
  EXPECT_NE(s.message().find("blk.1.attn_v.bias"), std::string::npos) << s.message();

  s = LoadError(TinyConfig("qwen3"), Drop("blk.0.attn_k_norm.weight"));
  EXPECT_NE(s.message().find("blk.0.attn_k_norm.weight"), std::string::npos) << s.message();

  // qwen3's attn_output is [dim, q_dim] = {128, 64} in GGUF order.
  s = LoadError(TinyConfig("qwen3"), Transpose("blk.1.attn_output.weight"));
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << s.ToString();
  EXPECT_NE(s.message().find("blk.1.attn_output.weight"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("{64, 128}"), std::string::npos) << s.message();

  s = LoadError(TinyConfig("llama"), Drop("blk.1.ffn_up.weight"));
  EXPECT_NE(s.message().find("blk.1.ffn_up.weight"), std::string::npos) << s.message();
}

TEST(ModelTest, RopeFrequencyDivisorsMustBePositive) {
  Status s = LoadError(TinyConfig("llama"), RopeFreqs(0.0f));
  EXPECT_NE(s.message().find("rope_freqs.weight"), std::string::npos) << s.ToString();
  EXPECT_TRUE(LoadError(TinyConfig("llama"), RopeFreqs(8.0f)).ok());
}

TEST(ModelTest, Llama2cCheckpointIsALlama) {
  auto m = Model::Load(kModelDir + "stories260K.bin", kModelDir + "tok512.bin");
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  const ModelConfig& c = (*m)->config();
  // From models/README.md: dim 64, hidden 172, 5 layers, 8 heads, 4 KV
  // heads, vocab 512, context 512.
  EXPECT_EQ(c.arch, "llama");
  EXPECT_EQ(c.dim, 64);
  EXPECT_EQ(c.hidden_dim, 172);
  EXPECT_EQ(c.n_layers, 5);
  EXPECT_EQ(c.n_heads, 8);
  EXPECT_EQ(c.n_kv_heads, 4);
  EXPECT_EQ(c.head_dim, 8);
  EXPECT_EQ(c.n_vocab, 512);
  EXPECT_EQ(c.context_length, 512);
}

TEST(ModelTest, GgufConfigMatchesWhatLlamaCppWrote) {
  auto m = Model::Load(kModelDir + "stories260K-f32.gguf", "");
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  const ModelConfig& c = (*m)->config();
  EXPECT_EQ(c.arch, "llama");
  EXPECT_EQ(c.dim, 64);
  EXPECT_EQ(c.n_kv_heads, 4);
  EXPECT_EQ(c.n_vocab, 512);
  EXPECT_EQ(c.context_length, 2048);  // what llama.cpp's converter wrote
  EXPECT_FLOAT_EQ(c.norm_eps, 1e-5f);
  EXPECT_FLOAT_EQ(c.rope_freq_base, 10000.f);
}

TEST(ModelTest, TokenizerSizeMismatchNamesBothSizes) {
  auto m = Model::Load(kModelDir + "stories260K.bin", kModelDir + "tokenizer.bin");
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.status().message().find("32000"), std::string::npos) << m.status().message();
  EXPECT_NE(m.status().message().find("512"), std::string::npos) << m.status().message();
}

}  // namespace
}  // namespace kvs
