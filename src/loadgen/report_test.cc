#include "loadgen/report.h"

#include <gtest/gtest.h>

#include "loadgen/report_plot.h"

namespace kvs::loadgen {
namespace {

RequestResult Ok(double start_s, double ttft, double e2e, int out, int prompt, int cached,
                 std::string tag = "all") {
  RequestResult r;
  r.ok = true;
  r.start_s = start_s;
  r.ttft_ms = ttft;
  r.e2e_ms = e2e;
  r.output_tokens = out;
  r.prompt_tokens = prompt;
  r.cached_tokens = cached;
  r.tag = std::move(tag);
  for (int i = 1; i < out; ++i) r.itl_ms.push_back((e2e - ttft) / (out - 1));
  return r;
}

MetricsSample Sample(double t, double used, double tokens, double hit, double queried,
                     double preempt, double rss) {
  MetricsSample s;
  s.ok = true;
  s.t_s = t;
  s.kv_blocks_used = used;
  s.kv_blocks_total = 100;
  s.kv_tokens_used = tokens;
  s.prefix_hit_tokens_total = hit;
  s.prefix_queried_tokens_total = queried;
  s.preemptions_total = preempt;
  s.rss_mb = rss;
  return s;
}

TEST(ReportTest, FiguresFromKnownRequestsAndSamples) {
  RunResult run;
  run.wall_s = 2.0;
  // Request 0 is the cold one; its first token comes at 0.1 + 0.5 s.
  run.requests = {Ok(0.1, 500, 1500, 11, 100, 0), Ok(0.7, 50, 550, 11, 100, 96),
                  Ok(0.8, 60, 2060, 11, 100, 96, "long")};
  RequestResult bad;
  bad.error = "HTTP 503: overloaded";
  run.requests.push_back(bad);
  std::vector<MetricsSample> samples = {
      Sample(0.0, 0, 0, 1000, 2000, 5, 100),  // baseline counters from before the run
      Sample(1.0, 10, 150, 1100, 2200, 6, 120),
      Sample(2.0, 20, 320, 1192, 2300, 9, 121)};
  ReportContext c;
  c.scenario = "shared-system-prompt";
  c.mode = "closed";
  c.slo_ttft_ms = 100;
  c.slo_tpot_ms = 120;  // request 2 has tpot 200: misses
  c.kv_block_size = 16;
  nlohmann::json r = BuildReport(run, samples, c);
  EXPECT_EQ(r["requests_ok"], 3);
  EXPECT_EQ(r["requests_failed"], 1);
  EXPECT_EQ(r["errors"][0], "HTTP 503: overloaded");
  EXPECT_DOUBLE_EQ(r["ttft_ms"]["p50"].get<double>(), 60);
  EXPECT_DOUBLE_EQ(r["output_tokens_per_s"].get<double>(), 33 / 2.0);
  EXPECT_DOUBLE_EQ(r["goodput_rps"].get<double>(), 1 / 2.0);  // only request 1
  // Server counters: (1192 - 1000) / (2300 - 2000).
  EXPECT_DOUBLE_EQ(r["prefix_cache_hit_rate"].get<double>(), 192.0 / 300.0);
  // Client side after warm-up: requests 1 and 2 (started after 0.6 s).
  EXPECT_DOUBLE_EQ(r["prefix_cache_hit_rate_after_warmup"].get<double>(), 192.0 / 200.0);
  EXPECT_DOUBLE_EQ(r["preemptions"].get<double>(), 4);
  // kv efficiency: mean of 150/160 and 320/320 (the sample with 0 blocks is skipped).
  EXPECT_DOUBLE_EQ(r["kv_efficiency"].get<double>(), (150.0 / 160 + 1.0) / 2);
  EXPECT_EQ(r["kv_blocks_used_max"], 20);
  EXPECT_FALSE(r["kv_blocks_used_above_total"].get<bool>());
  EXPECT_DOUBLE_EQ(r["peak_rss_mb"].get<double>(), 121);
  // The first request completed at 1.6 s: the 2.0 s sample is the first after.
  EXPECT_DOUBLE_EQ(r["rss_drift_mb"].get<double>(), 0);
  EXPECT_TRUE(r["itl_ms_by_tag"].contains("long"));
  EXPECT_DOUBLE_EQ(r["itl_ms_by_tag"]["long"]["p99"].get<double>(), 200);
  const std::string table = FormatReportTable(r);
  EXPECT_NE(table.find("ttft"), std::string::npos);
  EXPECT_NE(table.find("HTTP 503"), std::string::npos);
}

TEST(ReportTest, MissingMetricsAreNullNotZero) {
  RunResult run;
  run.wall_s = 1;
  run.requests = {Ok(0, 10, 20, 2, 10, 0)};
  MetricsSample failed_scrape;  // ok = false
  nlohmann::json r = BuildReport(run, {failed_scrape}, ReportContext{"x", "open"});
  EXPECT_TRUE(r["prefix_cache_hit_rate"].is_null());
  EXPECT_TRUE(r["kv_efficiency"].is_null());
  EXPECT_TRUE(r["preemptions"].is_null());
  EXPECT_TRUE(r["peak_rss_mb"].is_null());
}

TEST(ReportTest, ComparisonTableHasOneRowPerVariant) {
  RunResult run;
  run.wall_s = 1;
  run.requests = {Ok(0, 10, 20, 2, 10, 0)};
  nlohmann::json a = BuildReport(run, {}, ReportContext{"x", "closed"});
  const std::string t = FormatComparisonTable({"on", "off"}, {a, a});
  EXPECT_NE(t.find("| on |"), std::string::npos);
  EXPECT_NE(t.find("| off |"), std::string::npos);
}

TEST(ReportPlotTest, PlotsLatencyAndKvSeries) {
  RunResult run;
  run.wall_s = 2;
  run.requests = {Ok(0.0, 10, 20, 2, 10, 0), Ok(0.5, 30, 60, 2, 10, 0)};
  nlohmann::json r = BuildReport(run, {Sample(0.5, 3, 40, 0, 0, 0, 50)}, ReportContext{"x", "open"});
  const std::string svg = PlotReport(r);
  EXPECT_EQ(svg.rfind("<svg", 0), 0u);
  EXPECT_NE(svg.find("</svg>"), std::string::npos);
  EXPECT_NE(svg.find("TTFT p99"), std::string::npos);
  EXPECT_NE(svg.find("KV blocks used"), std::string::npos);
  EXPECT_NE(svg.find("server RSS"), std::string::npos);
  EXPECT_NE(svg.find("<polyline"), std::string::npos);
}

}  // namespace
}  // namespace kvs::loadgen
