#include "server/json_guard.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "server/openai_request.h"

namespace kvs::server {
namespace {

std::string Nested(int depth, const std::string& inner = "") {
  return std::string(depth, '[') + inner + std::string(depth, ']');
}

TEST(JsonNestingDepthTest, CountsArraysAndObjects) {
  EXPECT_EQ(JsonNestingDepth("1", 10), 0);
  EXPECT_EQ(JsonNestingDepth("\"x\"", 10), 0);
  EXPECT_EQ(JsonNestingDepth("[]", 10), 1);
  EXPECT_EQ(JsonNestingDepth(R"({"a": [1, {"b": []}], "c": {}})", 10), 4);
  EXPECT_EQ(JsonNestingDepth("[[],[[]],[]]", 10), 3);
}

TEST(JsonNestingDepthTest, IgnoresBracketsInStringsAndEscapes) {
  EXPECT_EQ(JsonNestingDepth(R"({"a": "[[[[{{{{"})", 10), 1);
  EXPECT_EQ(JsonNestingDepth(R"(["\"[[[", "\\", [1]])", 10), 2);
  EXPECT_EQ(JsonNestingDepth(R"(["\\\"[[", []])", 10), 2);
}

TEST(JsonNestingDepthTest, StopsPastTheLimit) {
  EXPECT_EQ(JsonNestingDepth(Nested(64), 64), 64);
  EXPECT_EQ(JsonNestingDepth(Nested(65), 64), 65);
  EXPECT_EQ(JsonNestingDepth(Nested(100000), 64), 65);
  EXPECT_EQ(JsonNestingDepth("]]]]", 4), 0);  // unbalanced: the parser's business
}

TEST(DescribeJsonValueTest, ScalarsVerbatimContainersByTypeOnly) {
  using Json = nlohmann::json;
  EXPECT_EQ(DescribeJsonValue(Json(-3)), "-3");
  EXPECT_EQ(DescribeJsonValue(Json(true)), "true");
  EXPECT_EQ(DescribeJsonValue(Json(nullptr)), "null");
  EXPECT_EQ(DescribeJsonValue(Json("ab")), "\"ab\"");
  EXPECT_EQ(DescribeJsonValue(Json("abcdef"), 3), "\"abc\"...");
  EXPECT_EQ(DescribeJsonValue(Json::array({1, 2})), "array");
  EXPECT_EQ(DescribeJsonValue(Json::object({{"a", 1}})), "object");
}

TEST(DescribeJsonValueTest, ADeepValueIsNotWalked) {
  // Built without recursion: 100k nested arrays, which a recursive dump()
  // would overflow the stack on.
  nlohmann::json deep = nlohmann::json::array();
  for (int i = 0; i < 100000; ++i) deep = nlohmann::json::array({std::move(deep)});
  EXPECT_EQ(DescribeJsonValue(deep), "array");
}

// The body of the issue's crash: ~65k nested arrays inside a token prompt.
TEST(JsonGuardRequestTest, ANestedArrayBombIsA400) {
  const std::string body = R"({"prompt":[1,)" + Nested(65536, "1") + "]}";
  auto r = ParseOpenAiRequest(Endpoint::kCompletion, body);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().http_status, 400);
  EXPECT_EQ(r.error().code, "invalid_json");
  EXPECT_EQ(r.error().message, "JSON nested deeper than 64 levels");
}

TEST(JsonGuardRequestTest, ANestedTokenWithinTheLimitIsNamedByType) {
  const std::string body = R"({"prompt":[1,)" + Nested(60, "1") + "]}";
  auto r = ParseOpenAiRequest(Endpoint::kCompletion, body);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().http_status, 400);
  EXPECT_EQ(r.error().param, "prompt");
  EXPECT_EQ(r.error().message, "token ids must be non-negative integers, got array");
}

TEST(JsonGuardRequestTest, TheLimitIsAFlag) {
  ParseLimits limits;
  limits.max_json_depth = 2;
  auto ok = ParseOpenAiRequest(Endpoint::kCompletion, R"({"prompt":[1,2]})", limits);
  EXPECT_TRUE(ok.ok());
  auto deep = ParseOpenAiRequest(Endpoint::kCompletion, R"({"prompt":[[1,2]]})", limits);
  ASSERT_FALSE(deep.ok());
  EXPECT_EQ(deep.error().message, "JSON nested deeper than 2 levels");
}

}  // namespace
}  // namespace kvs::server
