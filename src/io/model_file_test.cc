#include "io/model_file.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>

#include "io/llama2c_reader.h"

namespace kvs {
namespace {

const std::string kModels = std::string(KVS_SHARED_DIR) + "/models/";

TEST(ModelFileTest, Llama2cCheckpointHParamsAndVocab) {
  auto m = ModelFile::Open(kModels + "stories260K.bin", kModels + "tok512.bin");
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  ASSERT_NE((*m)->llama2c_header(), nullptr);
  const Llama2cHeader& hp = *(*m)->llama2c_header();
  EXPECT_EQ((*m)->format(), "llama2c");
  EXPECT_EQ((*m)->gguf(), nullptr);
  // From models/README.md: dim 64, hidden 172, 5 layers, 8 heads, 4 KV heads,
  // vocab 512, context 512.
  EXPECT_EQ(hp.dim, 64);
  EXPECT_EQ(hp.hidden_dim, 172);
  EXPECT_EQ(hp.n_layers, 5);
  EXPECT_EQ(hp.n_heads, 8);
  EXPECT_EQ(hp.n_kv_heads, 4);
  EXPECT_EQ(hp.vocab_size, 512);
  EXPECT_EQ(hp.seq_len, 512);
  EXPECT_EQ((*m)->FindTensor("output.weight"), nullptr);  // tied classifier
  // 1 + 9 per layer + 1 tensors.
  EXPECT_EQ((*m)->tensors().size(), 2u + 9u * 5u);
  const Vocab& v = (*m)->vocab();
  ASSERT_EQ(v.pieces.size(), 512u);
  EXPECT_EQ(v.pieces[0], "<unk>");
  EXPECT_EQ(v.pieces[1], "\n<s>\n");  // llama2.c's file really has the newlines; kept as stored
  EXPECT_EQ(v.types[0], TokenType::kUnknown);
  EXPECT_EQ(v.types[2], TokenType::kControl);
  EXPECT_EQ(v.pieces[3], "<0x00>");
  EXPECT_EQ(v.types[3], TokenType::kByte);
  EXPECT_EQ(v.types[258], TokenType::kByte);  // <0xFF>
  EXPECT_EQ(v.types[259], TokenType::kNormal);
  EXPECT_EQ(v.pieces[410], " ");  // the dummy-prefix space of models/README.md, kept plain
  EXPECT_EQ(v.bos_id, 1);
  EXPECT_EQ(v.eos_id, 2);
  EXPECT_EQ(v.unk_id, 0);
}

// llama.cpp's convert-llama2c-to-ggml copies the weights without permuting
// Q/K; our llama2.c reader must expose exactly the same bytes under the same
// names and dims.
TEST(ModelFileTest, Llama2cTensorsBitIdenticalToLlamaCppGguf) {
  auto bin = ModelFile::Open(kModels + "stories260K.bin", kModels + "tok512.bin");
  ASSERT_TRUE(bin.ok()) << bin.status().ToString();
  auto gguf = ModelFile::Open(kModels + "stories260K-f32.gguf", "");
  ASSERT_TRUE(gguf.ok()) << gguf.status().ToString();
  EXPECT_EQ((*gguf)->format(), "gguf");
  for (const TensorInfo& g : (*gguf)->tensors()) {
    // The converter writes the tied classifier out as output.weight.
    const std::string name = g.name == "output.weight" ? "token_embd.weight" : g.name;
    const TensorInfo* b = (*bin)->FindTensor(name);
    ASSERT_NE(b, nullptr) << g.name;
    ASSERT_EQ(g.type, DType::kF32) << g.name;
    ASSERT_EQ(b->dims, g.dims) << g.name;
    ASSERT_EQ(b->n_bytes, g.n_bytes) << g.name;
    EXPECT_EQ(std::memcmp(b->data, g.data, g.n_bytes), 0) << g.name;
  }
  EXPECT_EQ((*bin)->tensors().size() + 1, (*gguf)->tensors().size());
}

TEST(ModelFileTest, GgufVocabMatchesLlama2c) {
  auto gguf = ModelFile::Open(kModels + "stories260K-f32.gguf", "");
  ASSERT_TRUE(gguf.ok()) << gguf.status().ToString();
  EXPECT_EQ((*gguf)->llama2c_header(), nullptr);
  auto tok = ReadLlama2cTokenizer(kModels + "tok512.bin");
  ASSERT_TRUE(tok.ok()) << tok.status().ToString();
  const Vocab& v = (*gguf)->vocab();
  ASSERT_EQ(v.pieces.size(), tok->pieces.size());
  for (size_t i = 0; i < v.pieces.size(); ++i) {
    std::string plain = v.pieces[i];
    for (size_t p; (p = plain.find("\xE2\x96\x81")) != std::string::npos;) plain.replace(p, 3, " ");
    // llama2.c's file spells BOS/EOS "\n<s>\n" / "\n</s>\n"; GGUF "<s>" / "</s>".
    if (i != 1 && i != 2) {
      EXPECT_EQ(plain, tok->pieces[i]) << i;
    }
    EXPECT_EQ(v.scores[i], tok->scores[i]) << i;
    EXPECT_EQ(v.types[i], tok->types[i]) << i;
  }
  EXPECT_EQ(v.bos_id, 1);
  EXPECT_EQ(v.eos_id, 2);
}

TEST(ModelFileTest, QuantizedGgufOpens) {
  auto m = ModelFile::Open(kModels + "quant-test/quant-test-Q4_K.gguf", "");
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ((*m)->FindTensor("blk.0.ffn_up.weight")->dims, (std::vector<int64_t>{256, 768}));
  EXPECT_EQ((*m)->FindTensor("blk.0.attn_q.weight")->type, DType::kQ4_K);
}

TEST(ModelFileTest, Llama2cNeedsTokenizer) {
  auto m = ModelFile::Open(kModels + "stories260K.bin", "");
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.status().message().find("tokenizer"), std::string::npos) << m.status().message();
}

TEST(ModelFileTest, TruncatedCheckpointNamesTensor) {
  std::ifstream in(kModels + "stories260K.bin", std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const std::string path = std::string(KVS_BUILD_DIR) + "/io_model_file_test_truncated.bin";
  {
    std::ofstream out(path, std::ios::binary);
    out.write(bytes.data(), 200000);
  }
  auto m = ModelFile::Open(path, kModels + "tok512.bin");
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.status().message().find("truncated"), std::string::npos) << m.status().message();
  EXPECT_NE(m.status().message().find(".weight"), std::string::npos) << m.status().message();
  {
    std::ofstream out(path, std::ios::binary);
    out.write(bytes.data(), 12);
  }
  m = ModelFile::Open(path, kModels + "tok512.bin");
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.status().message().find("header"), std::string::npos) << m.status().message();
  std::remove(path.c_str());
}

}  // namespace
}  // namespace kvs
