#include "server/web_routes.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "server/web_assets.h"

namespace kvs::server {
namespace {

TEST(WebRoutesTest, SnapshotJsonHasOneDigitPerBlockAndIndexesTenants) {
  KvSnapshot s;
  s.states = {0, 1, 2, 3, 3};
  s.tenants = {KvSnapshot::kNoTenant, KvSnapshot::kNoTenant, TenantTag("b"), TenantTag("a"),
               TenantTag("a")};
  s.stats.kv_block_size = 16;
  s.stats.requests_running = 2;
  s.sequence = 7;
  const nlohmann::json j = nlohmann::json::parse(KvSnapshotJson(s));
  EXPECT_EQ(j["object"], "kv.snapshot");
  EXPECT_EQ(j["states"], "01233");
  EXPECT_EQ(j["n_blocks"], 5);
  EXPECT_EQ(j["block_size"], 16);
  EXPECT_EQ(j["sequence"], 7);
  EXPECT_EQ(j["stats"]["requests_running"], 2);
  ASSERT_EQ(j["tenants"].size(), 2u);
  EXPECT_EQ(j["block_tenants"], nlohmann::json({0, 0, 1, 2, 2}));
  EXPECT_EQ(j["tenants"][1]["blocks"], 2);
  EXPECT_EQ(j["tenants"][1]["tag"].get<std::string>().size(), 8u);
  // The salt itself never appears, only its tag.
  EXPECT_NE(j["tenants"][0]["tag"], "b");
}

TEST(WebRoutesTest, ThePageAndItsFilesAreBuiltIn) {
  std::vector<std::string> names;
  for (const WebAsset& a : WebAssets()) {
    names.emplace_back(a.name);
    EXPECT_FALSE(a.body.empty()) << a.name;
  }
  EXPECT_NE(std::find(names.begin(), names.end(), "index.html"), names.end());
  EXPECT_NE(std::find(names.begin(), names.end(), "app.js"), names.end());
  EXPECT_NE(std::find(names.begin(), names.end(), "style.css"), names.end());
}

}  // namespace
}  // namespace kvs::server
