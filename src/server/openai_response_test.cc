#include "server/openai_response.h"

#include <gtest/gtest.h>

namespace kvs::server {
namespace {

using Json = nlohmann::json;

ResponseContext Ctx(Endpoint e, bool logprobs = false) {
  ResponseContext c;
  c.endpoint = e;
  c.id = MakeResponseId(e, 7);
  c.created = 1700000000;
  c.model = "stories";
  c.logprobs = logprobs;
  return c;
}

TEST(OpenAiResponseTest, ChatCompletionShape) {
  Json j = BuildResponse(Ctx(Endpoint::kChat), "Hello", "stop", {}, Usage{5, 2, 4});
  EXPECT_EQ(j["id"], "chatcmpl-7");
  EXPECT_EQ(j["object"], "chat.completion");
  EXPECT_EQ(j["created"], 1700000000);
  EXPECT_EQ(j["model"], "stories");
  ASSERT_EQ(j["choices"].size(), 1u);
  EXPECT_EQ(j["choices"][0]["index"], 0);
  EXPECT_EQ(j["choices"][0]["message"]["role"], "assistant");
  EXPECT_EQ(j["choices"][0]["message"]["content"], "Hello");
  EXPECT_TRUE(j["choices"][0]["logprobs"].is_null());
  EXPECT_EQ(j["choices"][0]["finish_reason"], "stop");
  EXPECT_EQ(j["usage"]["prompt_tokens"], 5);
  EXPECT_EQ(j["usage"]["completion_tokens"], 2);
  EXPECT_EQ(j["usage"]["total_tokens"], 7);
  EXPECT_EQ(j["usage"]["prompt_tokens_details"]["cached_tokens"], 4);
}

TEST(OpenAiResponseTest, CompletionWithLogprobs) {
  std::vector<LogprobToken> lp = {{"Hel", -0.5f, {{"Hel", -0.5f}, {"He", -1.5f}}, 0},
                                  {"lo", -0.25f, {{"lo", -0.25f}}, 3}};
  Json j = BuildResponse(Ctx(Endpoint::kCompletion, true), "Hello", "length", lp, Usage{3, 2, 0});
  EXPECT_EQ(j["id"], "cmpl-7");
  EXPECT_EQ(j["object"], "text_completion");
  EXPECT_EQ(j["choices"][0]["text"], "Hello");
  const Json& l = j["choices"][0]["logprobs"];
  EXPECT_EQ(l["tokens"], Json::array({"Hel", "lo"}));
  EXPECT_EQ(l["token_logprobs"], Json::array({-0.5, -0.25}));
  EXPECT_EQ(l["top_logprobs"][0]["He"], -1.5);
  EXPECT_EQ(l["text_offset"], Json::array({0, 3}));
}

TEST(OpenAiResponseTest, ChatLogprobsCarryBytes) {
  std::vector<LogprobToken> lp = {{"\xC3", -1.0f, {{"\xC3", -1.0f}}, 0}};
  Json j = BuildChunk(Ctx(Endpoint::kChat, true), "", false, lp, nullptr);
  const Json& c = j["choices"][0]["logprobs"]["content"][0];
  EXPECT_EQ(c["bytes"], Json::array({0xC3}));
  EXPECT_EQ(c["top_logprobs"][0]["bytes"], Json::array({0xC3}));
  // Invalid UTF-8 in a token string must not throw when serialized.
  std::string s = DumpJson(j);
  EXPECT_NE(s.find("\xEF\xBF\xBD"), std::string::npos);
}

TEST(OpenAiResponseTest, ChatChunks) {
  ResponseContext c = Ctx(Endpoint::kChat);
  Json first = BuildChunk(c, "", true, {}, nullptr);
  EXPECT_EQ(first["object"], "chat.completion.chunk");
  EXPECT_EQ(first["choices"][0]["delta"]["role"], "assistant");
  EXPECT_EQ(first["choices"][0]["delta"]["content"], "");
  EXPECT_TRUE(first["choices"][0]["finish_reason"].is_null());
  Json mid = BuildChunk(c, "abc", false, {}, nullptr);
  EXPECT_FALSE(mid["choices"][0]["delta"].contains("role"));
  EXPECT_EQ(mid["choices"][0]["delta"]["content"], "abc");
  Json last = BuildChunk(c, "", false, {}, "length");
  EXPECT_EQ(last["choices"][0]["delta"], Json::object());
  EXPECT_EQ(last["choices"][0]["finish_reason"], "length");
  Json usage = BuildUsageChunk(c, Usage{4, 3, 0});
  EXPECT_TRUE(usage["choices"].empty());
  EXPECT_EQ(usage["usage"]["total_tokens"], 7);
}

TEST(OpenAiResponseTest, CompletionChunk) {
  Json j = BuildChunk(Ctx(Endpoint::kCompletion), "tok", false, {}, nullptr);
  EXPECT_EQ(j["object"], "text_completion");
  EXPECT_EQ(j["choices"][0]["text"], "tok");
  EXPECT_FALSE(j["choices"][0].contains("delta"));
}

}  // namespace
}  // namespace kvs::server
