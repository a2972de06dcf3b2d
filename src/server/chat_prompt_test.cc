#include "server/chat_prompt.h"

#include <gtest/gtest.h>

#include "tokenizer/testing_llama2c_vocab.h"

namespace kvs::server {
namespace {

TEST(ChatPromptTest, PlainTemplateOnABaseModelEncodesLikeAPrompt) {
  auto vocab = testing::ReadLlama2cVocabForTest(std::string(KVS_SHARED_DIR) + "/models/tok512.bin");
  ASSERT_TRUE(vocab.ok()) << vocab.status().ToString();
  auto tok = Tokenizer::Create(std::move(vocab).value());
  ASSERT_TRUE(tok.ok());
  auto prompt = MakeChatPrompt(tok->get(), "");
  ASSERT_TRUE(prompt.ok()) << prompt.status().ToString();
  EXPECT_EQ(prompt->name, "plain");
  auto ids = prompt->encode({{"user", "Once upon a time"}});
  ASSERT_TRUE(ids.ok());
  // run.c's tokenization of the same text (models/README.md).
  EXPECT_EQ(*ids, (std::vector<TokenId>{1, 403, 407, 261, 378}));
}

TEST(ChatPromptTest, OverridesAndErrors) {
  auto vocab = testing::ReadLlama2cVocabForTest(std::string(KVS_SHARED_DIR) + "/models/tok512.bin");
  ASSERT_TRUE(vocab.ok());
  auto tok = Tokenizer::Create(std::move(vocab).value());
  ASSERT_TRUE(tok.ok());
  auto chatml = MakeChatPrompt(tok->get(), "chatml");
  ASSERT_TRUE(chatml.ok());
  EXPECT_EQ(chatml->name, "chatml");
  EXPECT_FALSE(MakeChatPrompt(tok->get(), "nonsense").ok());
  auto bad_role = chatml->encode({{"wizard", "x"}});
  EXPECT_FALSE(bad_role.ok());
}

}  // namespace
}  // namespace kvs::server
