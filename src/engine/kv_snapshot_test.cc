#include "engine/kv_snapshot.h"

#include <gtest/gtest.h>

namespace kvs {
namespace {

TEST(KvSnapshotTest, TenantTagIsStableDistinctAndNeverTheNoTenantValue) {
  EXPECT_EQ(TenantTag("x"), TenantTag("x"));
  EXPECT_NE(TenantTag("x"), TenantTag("y"));
  EXPECT_NE(TenantTag(""), KvSnapshot::kNoTenant);
}

}  // namespace
}  // namespace kvs
