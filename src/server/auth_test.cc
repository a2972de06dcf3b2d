#include "server/auth.h"

#include <gtest/gtest.h>

namespace kvs::server {
namespace {

TEST(AuthTest, Sha256KnownAnswer) {
  // FIPS 180-2 test vector.
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(AuthTest, NoKeysMeansOneTenantWithEmptySalt) {
  ApiKeyAuth auth({});
  EXPECT_FALSE(auth.enabled());
  EXPECT_EQ(auth.Authenticate(""), std::optional<std::string>(""));
  EXPECT_EQ(auth.Authenticate("Bearer whatever"), std::optional<std::string>(""));
}

TEST(AuthTest, KeysAreRequiredAndNameTheTenant) {
  ApiKeyAuth auth({"key-a", "key-b"});
  EXPECT_TRUE(auth.enabled());
  EXPECT_FALSE(auth.Authenticate("").has_value());
  EXPECT_FALSE(auth.Authenticate("Bearer ").has_value());
  EXPECT_FALSE(auth.Authenticate("Bearer key-c").has_value());
  EXPECT_FALSE(auth.Authenticate("key-a").has_value());
  EXPECT_FALSE(auth.Authenticate("Basic key-a").has_value());
  EXPECT_FALSE(auth.Authenticate("Bearer key-a ").has_value());
  auto a = auth.Authenticate("Bearer key-a");
  auto b = auth.Authenticate("Bearer key-b");
  ASSERT_TRUE(a.has_value());
  ASSERT_TRUE(b.has_value());
  EXPECT_EQ(*a, Sha256Hex("key-a"));
  EXPECT_NE(*a, *b);
}

}  // namespace
}  // namespace kvs::server
