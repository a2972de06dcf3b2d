#include "tokenizer/chat_template.h"

#include <gtest/gtest.h>

namespace kvs {
namespace {

const std::vector<ChatMessage> kSysUser = {{"system", "Be brief."}, {"user", "Hi!"}};
const std::vector<ChatMessage> kMultiTurn = {
    {"system", "Be brief."}, {"user", "Hi!"}, {"assistant", "Hello."}, {"user", "Bye?"}};

std::string Render(std::string_view family, const std::vector<ChatMessage>& m, bool gen = true) {
  auto r = RenderChat(family, m, gen);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? *r : "";
}

TEST(ChatTemplateTest, Chatml) {
  EXPECT_EQ(Render("chatml", kSysUser),
            "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi!<|im_end|>\n"
            "<|im_start|>assistant\n");
  EXPECT_EQ(Render("chatml", kMultiTurn, false),
            "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi!<|im_end|>\n"
            "<|im_start|>assistant\nHello.<|im_end|>\n<|im_start|>user\nBye?<|im_end|>\n");
}

TEST(ChatTemplateTest, Llama2FoldsSystemIntoSysBlock) {
  EXPECT_EQ(Render("llama2", kSysUser), "[INST] <<SYS>>\nBe brief.\n<</SYS>>\n\nHi! [/INST]");
  EXPECT_EQ(Render("llama2", kMultiTurn),
            "[INST] <<SYS>>\nBe brief.\n<</SYS>>\n\nHi! [/INST] Hello. </s><s>[INST] Bye? [/INST]");
  EXPECT_EQ(Render("llama2", {{"user", "  padded  "}}), "[INST] padded [/INST]");
}

TEST(ChatTemplateTest, Llama3) {
  EXPECT_EQ(Render("llama3", kMultiTurn),
            "<|start_header_id|>system<|end_header_id|>\n\nBe brief.<|eot_id|>"
            "<|start_header_id|>user<|end_header_id|>\n\nHi!<|eot_id|>"
            "<|start_header_id|>assistant<|end_header_id|>\n\nHello.<|eot_id|>"
            "<|start_header_id|>user<|end_header_id|>\n\nBye?<|eot_id|>"
            "<|start_header_id|>assistant<|end_header_id|>\n\n");
  EXPECT_EQ(Render("llama3", {{"user", "x"}}, false),
            "<|start_header_id|>user<|end_header_id|>\n\nx<|eot_id|>");
}

TEST(ChatTemplateTest, MistralFoldsSystemIntoFirstUserTurn) {
  EXPECT_EQ(Render("mistral", kMultiTurn),
            "[INST] Be brief.\n\nHi! [/INST]Hello.</s>[INST] Bye? [/INST]");
  EXPECT_EQ(Render("mistral", {{"user", "Hi!"}}), "[INST] Hi! [/INST]");
}

TEST(ChatTemplateTest, Zephyr) {
  EXPECT_EQ(Render("zephyr", kMultiTurn),
            "<|system|>\nBe brief.</s>\n<|user|>\nHi!</s>\n<|assistant|>\nHello.</s>\n"
            "<|user|>\nBye?</s>\n<|assistant|>\n");
}

TEST(ChatTemplateTest, GemmaUsesModelRoleAndFoldsSystem) {
  EXPECT_EQ(Render("gemma", kMultiTurn),
            "<start_of_turn>user\nBe brief.\n\nHi!<end_of_turn>\n"
            "<start_of_turn>model\nHello.<end_of_turn>\n"
            "<start_of_turn>user\nBye?<end_of_turn>\n<start_of_turn>model\n");
}

TEST(ChatTemplateTest, Phi3) {
  EXPECT_EQ(Render("phi3", kSysUser),
            "<|system|>\nBe brief.<|end|>\n<|user|>\nHi!<|end|>\n<|assistant|>\n");
  EXPECT_EQ(Render("phi3", kSysUser, false),
            "<|system|>\nBe brief.<|end|>\n<|user|>\nHi!<|end|>\n");
}

TEST(ChatTemplateTest, PlainJoinsContentsForBaseModels) {
  EXPECT_EQ(Render("plain", {{"user", "Once upon a time"}}), "Once upon a time");
  EXPECT_EQ(Render("plain", {{"system", "A story."}, {"user", "Once upon a time"}}),
            "A story.\nOnce upon a time");
  // The model's own continuation is appended as it was produced.
  EXPECT_EQ(Render("plain", {{"user", "Once upon a time"},
                             {"assistant", ", there was a cat."},
                             {"user", "The cat"}}),
            "Once upon a time, there was a cat.\nThe cat");
}

TEST(ChatTemplateTest, DeveloperRoleIsSystem) {
  EXPECT_EQ(Render("chatml", {{"developer", "d"}}, false), "<|im_start|>system\nd<|im_end|>\n");
}

TEST(ChatTemplateTest, Errors) {
  auto bad_name = RenderChat("vicuna", kSysUser);
  EXPECT_EQ(bad_name.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(bad_name.status().message().find("chatml"), std::string::npos);  // lists known
  EXPECT_EQ(RenderChat("chatml", {{"tool", "x"}}).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseChatTemplate("llama4").status().code(), StatusCode::kInvalidArgument);
}

TEST(ChatTemplateTest, NamesRoundTrip) {
  for (const char* name :
       {"plain", "chatml", "llama2", "llama3", "mistral", "zephyr", "gemma", "phi3"}) {
    auto t = ParseChatTemplate(name);
    ASSERT_TRUE(t.ok()) << name;
    EXPECT_EQ(ChatTemplateName(*t), name);
  }
}

TEST(ChatTemplateTest, DetectByMarkers) {
  EXPECT_EQ(DetectChatTemplate(""), "plain");
  EXPECT_EQ(DetectChatTemplate("{% for m in messages %}{{'<|im_start|>' + m['role'] + '\\n'}}"),
            "chatml");
  EXPECT_EQ(DetectChatTemplate("{{ '<|start_header_id|>' + m['role'] + '<|end_header_id|>' }}"),
            "llama3");
  EXPECT_EQ(DetectChatTemplate("{{ bos_token + '[INST] ' + '<<SYS>>\\n' + s }}"), "llama2");
  EXPECT_EQ(DetectChatTemplate("{{ bos_token }}{{ '[INST] ' + m['content'] + ' [/INST]' }}"),
            "mistral");
  EXPECT_EQ(DetectChatTemplate("{{ '<|user|>\\n' + m['content'] + eos_token }}"), "zephyr");
  EXPECT_EQ(DetectChatTemplate("{{ '<|user|>\\n' + m['content'] + '</s>' }}"), "zephyr");
  EXPECT_EQ(DetectChatTemplate("{{'<|user|>' + '\\n' + m['content'] + '<|end|>'}}"), "phi3");
  EXPECT_EQ(DetectChatTemplate("{{ '<start_of_turn>' + role + '\\n' }}"), "gemma");
  EXPECT_EQ(DetectChatTemplate("{{ messages[0]['content'] }}"), "");
}

}  // namespace
}  // namespace kvs
