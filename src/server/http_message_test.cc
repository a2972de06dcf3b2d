#include "server/http_message.h"

#include <gtest/gtest.h>

namespace kvs::server {
namespace {

TEST(HttpMessageTest, HeaderNamesMatchWithoutCase) {
  EXPECT_TRUE(HeaderNameEquals("Content-Length", "content-length"));
  EXPECT_TRUE(HeaderNameEquals("X-A", "x-a"));
  EXPECT_FALSE(HeaderNameEquals("Content-Length", "Content-Lengt"));
  EXPECT_FALSE(HeaderNameEquals("a", "b"));
  // Only ASCII letters fold: '[' is not '{' even though they differ by 32.
  EXPECT_FALSE(HeaderNameEquals("[", "{"));
}

TEST(HttpMessageTest, RequestHeaderLooksUpTheFirstValue) {
  HttpRequest req;
  req.headers = {{"Authorization", "Bearer a"}, {"authorization", "Bearer b"}};
  EXPECT_EQ(req.Header("AUTHORIZATION"), "Bearer a");
  EXPECT_TRUE(req.HasHeader("authorization"));
  EXPECT_EQ(req.Header("Origin"), "");
  EXPECT_FALSE(req.HasHeader("Origin"));
}

TEST(HttpMessageTest, SetHeaderReplacesWithoutCase) {
  HttpResponse res;
  res.SetHeader("Retry-After", "1");
  res.SetHeader("retry-after", "2");
  ASSERT_EQ(res.headers.size(), 1u);
  EXPECT_EQ(res.headers[0].second, "2");
  EXPECT_TRUE(res.HasHeader("RETRY-AFTER"));
  res.SetContent("{}", "application/json");
  EXPECT_EQ(res.body, "{}");
  EXPECT_EQ(res.content_type, "application/json");
}

}  // namespace
}  // namespace kvs::server
