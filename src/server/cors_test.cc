#include "server/cors.h"

#include <gtest/gtest.h>

namespace kvs::server {
namespace {

std::string Header(const HeaderList& h, const std::string& name) {
  for (const auto& [k, v] : h) {
    if (k == name) return v;
  }
  return "<absent>";
}

TEST(CorsPolicyTest, DefaultAllowsNothing) {
  CorsPolicy p({});
  EXPECT_FALSE(p.enabled());
  EXPECT_FALSE(p.Allows("https://a.example"));
  EXPECT_TRUE(p.ResponseHeaders("https://a.example").empty());
  EXPECT_TRUE(p.PreflightHeaders("https://a.example").empty());
}

TEST(CorsPolicyTest, ListedOriginsOnly) {
  CorsPolicy p({"https://a.example/", "http://localhost:3000"});
  EXPECT_TRUE(p.Allows("https://a.example"));
  EXPECT_TRUE(p.Allows("http://localhost:3000"));
  EXPECT_FALSE(p.Allows("https://a.example.evil"));
  EXPECT_FALSE(p.Allows("http://localhost:3001"));
  EXPECT_FALSE(p.Allows(""));
  HeaderList h = p.ResponseHeaders("https://a.example");
  EXPECT_EQ(Header(h, "Access-Control-Allow-Origin"), "https://a.example");
  EXPECT_EQ(Header(h, "Vary"), "Origin");
  EXPECT_EQ(Header(h, "Access-Control-Allow-Methods"), "<absent>");
  EXPECT_EQ(Header(h, "Access-Control-Allow-Credentials"), "<absent>");
}

TEST(CorsPolicyTest, PreflightNamesMethodsAndTheSdkHeaders) {
  CorsPolicy p({"*"});
  HeaderList h = p.PreflightHeaders("https://b.example");
  EXPECT_EQ(Header(h, "Access-Control-Allow-Origin"), "https://b.example");
  EXPECT_EQ(Header(h, "Access-Control-Allow-Methods"), "GET, POST, OPTIONS");
  EXPECT_NE(Header(h, "Access-Control-Allow-Headers").find("Authorization"), std::string::npos);
  EXPECT_NE(Header(h, "Access-Control-Allow-Headers").find("Content-Type"), std::string::npos);
  EXPECT_EQ(Header(h, "Access-Control-Max-Age"), "600");
}

}  // namespace
}  // namespace kvs::server
