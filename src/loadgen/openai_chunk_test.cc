#include "loadgen/openai_chunk.h"

#include <gtest/gtest.h>

namespace kvs::loadgen {
namespace {

TEST(OpenAiChunkTest, ChatDeltaContent) {
  auto c = ParseOpenAiChunk(
      R"({"id":"x","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":" cat"},"finish_reason":null}]})");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->content, " cat");
  EXPECT_EQ(c->finish_reason, "");
  EXPECT_FALSE(c->usage.has_value());
  EXPECT_FALSE(c->done);
}

TEST(OpenAiChunkTest, RoleOnlyDeltaHasNoContent) {
  auto c = ParseOpenAiChunk(R"({"choices":[{"index":0,"delta":{"role":"assistant"}}]})");
  ASSERT_TRUE(c.ok());
  EXPECT_TRUE(c->content.empty());
}

TEST(OpenAiChunkTest, CompletionTextAndFinishReason) {
  auto c = ParseOpenAiChunk(R"({"choices":[{"index":0,"text":"Once","finish_reason":"length"}]})");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->content, "Once");
  EXPECT_EQ(c->finish_reason, "length");
}

TEST(OpenAiChunkTest, UsageChunkWithCachedTokens) {
  auto c = ParseOpenAiChunk(
      R"({"choices":[],"usage":{"prompt_tokens":420,"completion_tokens":32,"total_tokens":452,"prompt_tokens_details":{"cached_tokens":400}}})");
  ASSERT_TRUE(c.ok());
  ASSERT_TRUE(c->usage.has_value());
  EXPECT_EQ(c->usage->prompt_tokens, 420);
  EXPECT_EQ(c->usage->completion_tokens, 32);
  EXPECT_EQ(c->usage->cached_tokens, 400);
  EXPECT_TRUE(c->content.empty());
}

TEST(OpenAiChunkTest, DoneErrorAndGarbage) {
  auto done = ParseOpenAiChunk("[DONE]");
  ASSERT_TRUE(done.ok());
  EXPECT_TRUE(done->done);
  auto err = ParseOpenAiChunk(R"({"error":{"message":"out of memory","type":"server_error"}})");
  ASSERT_TRUE(err.ok());
  EXPECT_EQ(err->error, "out of memory");
  EXPECT_EQ(ParseOpenAiChunk("{not json").status().code(), StatusCode::kDataLoss);
  EXPECT_EQ(ParseOpenAiChunk("[1,2]").status().code(), StatusCode::kDataLoss);
}

TEST(OpenAiChunkTest, UsageJsonMissingDetailsReadsZeroCached) {
  ChunkUsage u = ParseUsageJson(R"({"prompt_tokens":7,"completion_tokens":1})");
  EXPECT_EQ(u.prompt_tokens, 7);
  EXPECT_EQ(u.cached_tokens, 0);
}

}  // namespace
}  // namespace kvs::loadgen
