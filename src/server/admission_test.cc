#include "server/admission.h"

#include <gtest/gtest.h>

#include <vector>

namespace kvs::server {
namespace {

TEST(AdmissionTest, RefusesPastTheLimitAndFreesOnRelease) {
  ConcurrencyLimiter limiter(2);
  auto a = limiter.TryAcquire();
  auto b = limiter.TryAcquire();
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(limiter.TryAcquire(), nullptr);
  EXPECT_EQ(limiter.in_flight(), 2);
  a.reset();
  EXPECT_EQ(limiter.in_flight(), 1);
  EXPECT_NE(limiter.TryAcquire(), nullptr);  // released again at once
  EXPECT_EQ(limiter.in_flight(), 1);
}

}  // namespace
}  // namespace kvs::server
