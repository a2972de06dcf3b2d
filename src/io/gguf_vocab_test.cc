#include "io/gguf_vocab.h"

#include <gtest/gtest.h>

namespace kvs {
namespace {

const std::string kShared = std::string(KVS_SHARED_DIR) + "/models/";

Vocab Read(const std::string& rel) {
  auto gguf = GgufFile::Open(kShared + rel);
  KVS_CHECK(gguf.ok()) << gguf.status().ToString();
  auto v = VocabFromGguf(**gguf);
  KVS_CHECK(v.ok()) << v.status().ToString();
  return *std::move(v);
}

// Expected values from the same vocabularies' Hugging Face tokenizer.json
// (merge counts, first merge) and node-llama-cpp (bos/eos ids).
TEST(GgufVocabTest, Llama3) {
  const Vocab v = Read("vocab/ggml-vocab-llama-bpe.gguf");
  EXPECT_EQ(v.model, "gpt2");
  EXPECT_EQ(v.pre, "llama-bpe");
  EXPECT_EQ(v.pieces.size(), 128256u);
  ASSERT_EQ(v.merges.size(), 280147u);
  EXPECT_EQ(v.merges[0], "\xC4\xA0 \xC4\xA0");  // "Ġ Ġ"
  EXPECT_EQ(v.bos_id, 128000);
  EXPECT_EQ(v.eos_id, 128001);
  EXPECT_EQ(v.unk_id, -1);
  EXPECT_TRUE(v.add_bos);
  EXPECT_FALSE(v.add_eos);
  EXPECT_FALSE(v.add_space_prefix);
  EXPECT_EQ(v.types[128009], TokenType::kControl);  // <|eot_id|>
}

TEST(GgufVocabTest, Qwen2) {
  const Vocab v = Read("vocab/ggml-vocab-qwen2.gguf");
  EXPECT_EQ(v.model, "gpt2");
  EXPECT_EQ(v.pre, "qwen2");
  EXPECT_EQ(v.pieces.size(), 151936u);
  ASSERT_EQ(v.merges.size(), 151387u);
  EXPECT_EQ(v.bos_id, 151643);
  EXPECT_EQ(v.eos_id, 151643);
  EXPECT_FALSE(v.add_bos);
  EXPECT_FALSE(v.chat_template.empty());
}

TEST(GgufVocabTest, SentencePieceKeepsItsDefaults) {
  const Vocab v = Read("stories260K-f32.gguf");
  EXPECT_EQ(v.model, "llama");
  EXPECT_TRUE(v.merges.empty());
  EXPECT_TRUE(v.add_bos);
  EXPECT_TRUE(v.add_space_prefix);
  EXPECT_EQ(v.pad_id, -1);  // stored as 0xFFFFFFFF: none
}

}  // namespace
}  // namespace kvs
