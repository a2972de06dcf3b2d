// End-to-end tests of the load generator against the real `kvserve serve`
// on stories260K (started by `kvserve loadgen -m ...` on a free loopback
// port): every scenario, open and closed loop, the report's fields and the
// plot, and a prefix-cache ablation. Short and bounded: each run is a few
// requests with small outputs, under a --duration cap.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "test_util.h"

namespace kvs::loadgen_e2e_test {
namespace {

using nlohmann::json;
using testing::Quote;

struct LoadgenRun {
  int exit_code = -1;
  std::string out;
  json report;
};

// Runs `kvserve loadgen` with the stories260K server and `args`.
LoadgenRun Loadgen(const std::string& name, const std::string& args) {
  const std::string dir = std::string(KVS_BUILD_DIR) + "/loadgen_e2e";
  std::system(("mkdir -p " + Quote(dir)).c_str());
  const std::string out = dir + "/" + name + ".json";
  std::remove(out.c_str());
  const std::string cmd = Quote(testing::KvserveBinary()) + " loadgen -m " +
                          Quote(testing::SharedPath("models/stories260K.bin")) + " --tokenizer " +
                          Quote(testing::SharedPath("models/tok512.bin")) + " --server-log " +
                          Quote(dir + "/" + name + ".server.log") + " --out " + Quote(out) +
                          " --duration 40 --request-timeout 30 --metrics-period 0.2 " + args +
                          " 2>" + Quote(dir + "/" + name + ".stderr");
  LoadgenRun r;
  testing::CommandResult c = testing::RunCommand(cmd);
  r.exit_code = c.exit_code;
  r.out = c.out;
  const std::string text = testing::ReadFile(out);
  r.report = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (r.report.is_discarded()) r.report = json::object();
  return r;
}

double Num(const json& j) { return j.is_number() ? j.get<double>() : -1; }

// The checks every run must pass.
void ExpectSane(const LoadgenRun& r, int n_requests) {
  ASSERT_EQ(r.exit_code, 0) << r.out;
  const json& j = r.report;
  ASSERT_TRUE(j.contains("requests_ok")) << "no JSON report; stdout:\n" << r.out;
  EXPECT_EQ(j["requests_ok"], n_requests) << j["errors"].dump();
  EXPECT_EQ(j["requests_failed"], 0) << j["errors"].dump();
  EXPECT_EQ(j["server_crashed"], false);
  for (const char* key : {"ttft_ms", "itl_ms", "e2e_ms"}) {
    const json& s = j[key];
    EXPECT_GT(Num(s["p50"]), 0) << key;
    EXPECT_LE(Num(s["p50"]), Num(s["p90"])) << key;
    EXPECT_LE(Num(s["p90"]), Num(s["p99"])) << key;
    EXPECT_LE(Num(s["p99"]), Num(s["max"])) << key;
    EXPECT_GT(Num(s["mean"]), 0) << key;
  }
  EXPECT_GE(Num(j["e2e_ms"]["p50"]), Num(j["ttft_ms"]["p50"]));
  EXPECT_GT(Num(j["output_tokens"]), 0);
  EXPECT_GT(Num(j["output_tokens_per_s"]), 0);
  EXPECT_GE(Num(j["goodput_rps"]), 0);
  EXPECT_EQ(j["max_model_len"], 512);  // from /v1/models
  EXPECT_GT(Num(j["chars_per_token"]), 1);
  EXPECT_GT(Num(j["kv_blocks_total"]), 0);
  EXPECT_LE(Num(j["kv_blocks_used_max"]), Num(j["kv_blocks_total"]));
  EXPECT_EQ(j["kv_blocks_used_above_total"], false);
  EXPECT_GE(Num(j["preemptions"]), 0);
  EXPECT_GT(Num(j["peak_rss_mb"]), 0);  // loadgen started the server: RSS is sampled
  EXPECT_TRUE(j.contains("kv_efficiency"));
  EXPECT_TRUE(j.contains("prefix_cache_hit_rate"));
  EXPECT_NE(r.out.find("ttft"), std::string::npos);  // the table on stdout
}

TEST(LoadgenE2eTest, SharedSystemPromptHitsThePrefixCacheAndPlots) {
  const std::string svg = std::string(KVS_BUILD_DIR) + "/loadgen_e2e/shared.svg";
  std::remove(svg.c_str());
  LoadgenRun r = Loadgen("shared", "--scenario shared-system-prompt --requests 12 --concurrency 4 "
                            "--max-tokens 16 --plot " + Quote(svg));
  ExpectSane(r, 12);
  EXPECT_GT(Num(r.report["prefix_cache_hit_rate"]), 0);
  EXPECT_GT(Num(r.report["prefix_cache_hit_rate_after_warmup"]), 0.5);
  EXPECT_GT(Num(r.report["lengths"]["system_prompt_tokens"]), 200);  // shrunk to 512, not tiny
  const std::string plot = testing::ReadFile(svg);
  EXPECT_EQ(plot.rfind("<svg", 0), 0u);
  EXPECT_NE(plot.find("<polyline"), std::string::npos);
}

TEST(LoadgenE2eTest, MultiTurnOpenLoop) {
  LoadgenRun r = Loadgen("multi_turn", "--scenario multi-turn --turns 3 --requests 9 --rate 8 "
                                "--max-tokens 12");
  ExpectSane(r, 9);
  EXPECT_EQ(r.report["mode"], "open");
  // Later turns resend earlier ones: the server finds them cached.
  EXPECT_GT(Num(r.report["cached_tokens"]), 0);
}

TEST(LoadgenE2eTest, MixedLengthsTagsShortRequests) {
  LoadgenRun r = Loadgen("mixed", "--scenario mixed-lengths --requests 12 --concurrency 4 --seed 3");
  ExpectSane(r, 12);
  EXPECT_TRUE(r.report["itl_ms_by_tag"].contains("short")) << r.report["itl_ms_by_tag"].dump();
}

TEST(LoadgenE2eTest, LongGenerationUnderASmallKvBudgetPreemptsWithoutFailing) {
  // KV for 640 tokens; 4 requests of ~460 tokens each want about 1,840.
  LoadgenRun r = Loadgen("long", "--scenario long-generation --requests 6 --concurrency 4 "
                          "--serve-args '--kv-cache-tokens 640'");
  ExpectSane(r, 6);
  EXPECT_GT(Num(r.report["itl_ms"]["p99"]), 0);
  // 4 users need ~116 blocks of 16 tokens; 40 exist: preemption must happen.
  EXPECT_GT(Num(r.report["preemptions"]), 0);
  EXPECT_LE(Num(r.report["kv_blocks_total"]), 40);
}

TEST(LoadgenE2eTest, MultiTenantWithItsOwnKeys) {
  LoadgenRun r = Loadgen("tenant", "--scenario multi-tenant --tenants 3 --requests 9 --concurrency 3 "
                            "--max-tokens 8");
  ExpectSane(r, 9);
  EXPECT_EQ(r.report["lengths"]["tenants"], 3);
}

TEST(LoadgenE2eTest, PrefixCacheAblationComparesInOneRun) {
  const std::string dir = std::string(KVS_BUILD_DIR) + "/loadgen_e2e";
  LoadgenRun r = Loadgen("ablate", "--scenario shared-system-prompt --requests 8 --concurrency 2 "
                            "--max-tokens 8 --ablate prefix-cache");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  ASSERT_TRUE(r.report.contains("variants")) << r.out;
  ASSERT_EQ(r.report["variants"].size(), 2u);
  const json& on = r.report["variants"][0]["report"];
  const json& off = r.report["variants"][1]["report"];
  EXPECT_EQ(on["requests_failed"], 0);
  EXPECT_EQ(off["requests_failed"], 0);
  EXPECT_GT(Num(on["prefix_cache_hit_rate_after_warmup"]), 0.5);
  EXPECT_LT(Num(off["cached_tokens"]), 1);  // caching off: nothing served from cache
  EXPECT_NE(r.out.find("| prefix-cache off |"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace kvs::loadgen_e2e_test
