#include "server/chat_prompt.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>

#include "io/gguf_reader.h"
#include "io/gguf_vocab.h"
#include "tokenizer/testing_llama2c_vocab.h"

namespace kvs::server {
namespace {

std::unique_ptr<Tokenizer> Tok512() {
  auto vocab = testing::ReadLlama2cVocabForTest(std::string(KVS_SHARED_DIR) + "/models/tok512.bin");
  EXPECT_TRUE(vocab.ok()) << vocab.status().ToString();
  auto tok = Tokenizer::Create(std::move(vocab).value());
  EXPECT_TRUE(tok.ok());
  return std::move(tok).value();
}

OpenAiRequest Chat(std::vector<InputMessage> messages) {
  OpenAiRequest r;
  r.messages = std::move(messages);
  return r;
}

std::string WriteTemp(const std::string& name, const std::string& text) {
  std::string path = ::testing::TempDir() + "/" + name;
  std::ofstream(path) << text;
  return path;
}

TEST(ChatPromptTest, PlainTemplateOnABaseModelEncodesLikeAPrompt) {
  auto tok = Tok512();
  auto prompt = MakeChatPrompt(tok.get(), "");
  ASSERT_TRUE(prompt.ok()) << prompt.status().ToString();
  EXPECT_EQ(prompt->name, "plain");
  auto ids = prompt->encode(Chat({{"user", "Once upon a time"}}));
  ASSERT_TRUE(ids.ok());
  // run.c's tokenization of the same text (models/README.md).
  EXPECT_EQ(*ids, (std::vector<TokenId>{1, 403, 407, 261, 378}));
}

TEST(ChatPromptTest, PlainJoinsTurnsAndContinuesAssistantText) {
  auto tok = Tok512();
  auto prompt = MakeChatPrompt(tok.get(), "");
  ASSERT_TRUE(prompt.ok());
  auto joined = prompt->encode(Chat({{"system", "Once"}, {"user", "upon a"}, {"assistant", " time"}}));
  auto direct = tok->EncodeWithSpecial("Once\nupon a time", true);
  ASSERT_TRUE(joined.ok());
  EXPECT_EQ(*joined, direct);
}

TEST(ChatPromptTest, AssistantPrefillLeavesTheTurnOpen) {
  auto tok = Tok512();
  const std::string file = WriteTemp("chatml.jinja", kChatmlTemplate);
  auto chatml = MakeChatPrompt(tok.get(), file);
  ASSERT_TRUE(chatml.ok()) << chatml.status().ToString();
  OpenAiRequest r = Chat({{"user", "Hi"}, {"assistant", "The answer is"}});
  r.continue_final_message = true;
  r.add_generation_prompt = false;
  auto ids = chatml->encode(r);
  ASSERT_TRUE(ids.ok()) << ids.status().ToString();
  EXPECT_EQ(tok->Decode(*ids, /*render_special=*/true),
            tok->Decode(tok->EncodeWithSpecial("<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\nThe answer is", true), true));
  // Without it, the same messages close the assistant turn and (by default) open a new one.
  OpenAiRequest closed = Chat({{"user", "Hi"}, {"assistant", "The answer is"}});
  auto closed_ids = chatml->encode(closed);
  ASSERT_TRUE(closed_ids.ok());
  EXPECT_NE(tok->Decode(*closed_ids, true).find("The answer is<|im_end|>\n<|im_start|>assistant\n"), std::string::npos);
  closed.add_generation_prompt = false;
  const std::string no_prompt = tok->Decode(*chatml->encode(closed), true);
  EXPECT_TRUE(no_prompt.ends_with("The answer is<|im_end|>\n")) << no_prompt;
}

TEST(ChatPromptTest, TemplateFileOverridesAndErrorsNameTheProblem) {
  auto tok = Tok512();
  std::string file = WriteTemp("t.jinja", "{% for m in messages %}[{{ m.role }}]{{ m.content }}{% endfor %}");
  auto custom = MakeChatPrompt(tok.get(), file);
  ASSERT_TRUE(custom.ok()) << custom.status().ToString();
  EXPECT_EQ(custom->name, "file " + file);
  auto ids = custom->encode(Chat({{"user", "hi"}}));
  ASSERT_TRUE(ids.ok());
  EXPECT_EQ(*ids, tok->EncodeWithSpecial("[user]hi", true));

  std::string config = WriteTemp("tokenizer_config.json", R"({"chat_template": "{{ messages[0].content }}!"})");
  auto from_config = MakeChatPrompt(tok.get(), config);
  ASSERT_TRUE(from_config.ok()) << from_config.status().ToString();
  EXPECT_EQ(*from_config->encode(Chat({{"user", "a"}})), tok->EncodeWithSpecial("a!", true));

  auto missing = MakeChatPrompt(tok.get(), "/nonexistent/template.jinja");
  EXPECT_FALSE(missing.ok());
  std::string bad = WriteTemp("bad.jinja", "line one\n{% include 'x.jinja' %}");
  auto unsupported = MakeChatPrompt(tok.get(), bad);
  ASSERT_FALSE(unsupported.ok());
  EXPECT_NE(unsupported.status().message().find("'{% include %}' is not supported"), std::string::npos)
      << unsupported.status().message();
  EXPECT_NE(unsupported.status().message().find("line 2"), std::string::npos);

  std::string raising = WriteTemp("raise.jinja", "{{ raise_exception('only user turns') }}");
  auto r = MakeChatPrompt(tok.get(), raising);
  ASSERT_TRUE(r.ok());
  auto refused = r->encode(Chat({{"user", "x"}}));
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("only user turns"), std::string::npos);
}

TEST(ChatPromptTest, ModelTemplatesWriteBosOnce) {
  // Llama 3's template writes bos_token itself; the encoder adds no second one.
  auto file = GgufFile::Open(std::string(KVS_SHARED_DIR) + "/models/vocab/ggml-vocab-llama-bpe.gguf");
  ASSERT_TRUE(file.ok()) << file.status().ToString();
  auto vocab = VocabFromGguf(**file);
  ASSERT_TRUE(vocab.ok()) << vocab.status().ToString();
  std::ifstream config(std::string(KVS_SHARED_DIR) + "/models/vocab/hf-llama3.1/tokenizer_config.json");
  vocab->chat_template = nlohmann::json::parse(config)["chat_template"].get<std::string>();
  auto tok = Tokenizer::Create(std::move(vocab).value());
  ASSERT_TRUE(tok.ok()) << tok.status().ToString();
  auto prompt = MakeChatPrompt(tok->get(), "");
  ASSERT_TRUE(prompt.ok()) << prompt.status().ToString();
  EXPECT_EQ(prompt->name, "model");
  auto ids = prompt->encode(Chat({{"user", "Hi"}}));
  ASSERT_TRUE(ids.ok());
  ASSERT_GE(ids->size(), 2u);
  EXPECT_EQ((*ids)[0], (*tok)->vocab().bos_id);
  EXPECT_NE((*ids)[1], (*tok)->vocab().bos_id);
}

}  // namespace
}  // namespace kvs::server
