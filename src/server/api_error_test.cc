#include "server/api_error.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace kvs::server {
namespace {

TEST(ApiErrorTest, OpenAiShapeWithNulls) {
  nlohmann::json j = Unauthorized().ToJson();
  ASSERT_TRUE(j.contains("error"));
  EXPECT_EQ(j["error"]["type"], "invalid_request_error");
  EXPECT_TRUE(j["error"]["param"].is_null());
  EXPECT_EQ(j["error"]["code"], "invalid_api_key");
  EXPECT_FALSE(j["error"]["message"].get<std::string>().empty());
}

TEST(ApiErrorTest, StatusesAndRetryAfter) {
  EXPECT_EQ(ModelNotFound("x").http_status, 404);
  EXPECT_EQ(ModelNotFound("x").code, "model_not_found");
  EXPECT_EQ(PayloadTooLarge(10).http_status, 413);
  EXPECT_EQ(TooManyRequests(4).http_status, 429);
  EXPECT_GT(TooManyRequests(4).retry_after_s, 0);
  EXPECT_EQ(Unavailable("busy").http_status, 503);
  EXPECT_GT(Unavailable("busy").retry_after_s, 0);
  ApiError ctx = ContextLengthExceeded(500, 100, 512);
  EXPECT_EQ(ctx.http_status, 400);
  EXPECT_EQ(ctx.code, "context_length_exceeded");
  EXPECT_NE(ctx.message.find("512"), std::string::npos);
}

TEST(ApiErrorTest, FromEngineStatus) {
  EXPECT_EQ(FromStatus(ResourceExhaustedError("queue full")).http_status, 503);
  EXPECT_EQ(FromStatus(InvalidArgumentError("empty prompt")).http_status, 400);
  EXPECT_EQ(FromStatus(OutOfRangeError("too long")).code, "context_length_exceeded");
  EXPECT_EQ(FromStatus(InternalError("boom")).http_status, 500);
}

}  // namespace
}  // namespace kvs::server
