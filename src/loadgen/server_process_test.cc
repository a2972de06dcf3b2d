#include "loadgen/server_process.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include "loadgen/bench_run.h"
#include "loadgen/metrics_sampler.h"
#include "loadgen/prometheus_text.h"
#include "loadgen/stream_client.h"
#include "loadgen/testing_fake_server.h"

namespace kvs::loadgen {
namespace {

TEST(ServerProcessTest, StartsStopsAndReportsHowItEnded) {
  auto p = ServerProcess::Start({"/bin/sleep", "30"}, "/dev/null");
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_TRUE((*p)->Running());
  EXPECT_GT(ReadRssMb((*p)->pid()), 0);
  const double t0 = NowSeconds();
  (*p)->Stop(5);
  EXPECT_LT(NowSeconds() - t0, 4);  // sleep dies of SIGTERM at once
  EXPECT_FALSE((*p)->Running());
  EXPECT_EQ((*p)->exit_description(), "signal 15");
}

TEST(ServerProcessTest, ExitCodeOfAProcessThatEnds) {
  auto p = ServerProcess::Start({"/bin/sh", "-c", "exit 3"}, "/dev/null");
  ASSERT_TRUE(p.ok());
  for (int i = 0; i < 200 && (*p)->Running(); ++i) usleep(10000);
  EXPECT_EQ((*p)->exit_description(), "exit 3");
}

TEST(ServerProcessTest, MissingBinaryIsNotFound) {
  EXPECT_EQ(ServerProcess::Start({"/no/such/kvserve"}, "/dev/null").status().code(),
            StatusCode::kNotFound);
}

TEST(ServerProcessTest, FreePortIsUsable) {
  auto port = PickFreeLoopbackPort();
  ASSERT_TRUE(port.ok());
  EXPECT_GT(*port, 0);
  EXPECT_LT(*port, 65536);
}

TEST(MetricsSamplerTest, ReadsOwnRssAndKnownGauges) {
  EXPECT_GT(ReadRssMb(getpid()), 1);
  EXPECT_LT(ReadRssMb(-1), 0);
  MetricsSample s = SampleFromMetrics(PrometheusSamples::Parse(
      "kvserve_kv_blocks_used 7\nkvserve_kv_tokens_used 100\nkvserve_requests_waiting 2\n"));
  EXPECT_EQ(s.kv_blocks_used, 7);
  EXPECT_EQ(s.kv_tokens_used, 100);
  EXPECT_EQ(s.requests_waiting, 2);
  EXPECT_EQ(s.kv_blocks_total, -1);  // not exported: -1, not 0
}

TEST(MetricsSamplerTest, SamplesPeriodicallyAndStops) {
  testing::FakeOpenAiServer server({});
  Endpoint ep;
  ep.host = "127.0.0.1";
  ep.port = server.port();
  MetricsSampler sampler(ep, 0.05, getpid(), NowSeconds());
  sampler.Start();
  usleep(300000);
  sampler.Stop();
  const auto& s = sampler.samples();
  ASSERT_GE(s.size(), 4u);  // baseline + ~5 periodic + final
  EXPECT_LE(s.size(), 12u);
  for (size_t i = 1; i < s.size(); ++i) EXPECT_GE(s[i].t_s, s[i - 1].t_s);
  EXPECT_TRUE(s.back().ok);
  EXPECT_EQ(s.back().kv_blocks_total, 32);
  EXPECT_GT(s.back().rss_mb, 0);
}

TEST(BenchRunTest, EndToEndAgainstAFakeServer) {
  testing::FakeOpenAiServer server({});
  BenchConfig c;
  c.url = server.url();
  c.scenario.name = "shared-system-prompt";
  c.scenario.max_model_len = 0;    // from /v1/models: 512
  c.scenario.chars_per_token = 0;  // from /tokenize: 3
  c.load.concurrency = 2;
  c.load.max_requests = 6;
  c.metrics_period_s = 0.05;
  c.server_pid = getpid();
  auto r = RunBenchmark(c);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ((*r)["requests_ok"], 6);
  EXPECT_EQ((*r)["requests_failed"], 0);
  EXPECT_EQ((*r)["max_model_len"], 512);
  EXPECT_NEAR((*r)["chars_per_token"].get<double>(), 3.0, 0.05);
  EXPECT_GT((*r)["preemptions"].get<double>(), 0);  // the fake counts scrapes
  EXPECT_GT((*r)["peak_rss_mb"].get<double>(), 0);
  EXPECT_EQ(server.requests(), 6);
}

}  // namespace
}  // namespace kvs::loadgen
