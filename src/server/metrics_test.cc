#include "server/metrics.h"

#include <gtest/gtest.h>

#include <thread>

namespace kvs::server {
namespace {

TEST(MetricsTest, RendersPrometheusText) {
  MetricsRegistry r;
  r.AddGauge("kvserve_requests_running", "Requests running.")->Set(3);
  r.AddCounter("kvserve_requests_total", "Finished requests.", {{"finish_reason", "stop"}})->Inc(2);
  r.AddCounter("kvserve_requests_total", "Finished requests.", {{"finish_reason", "length"}})
      ->Inc();
  Histogram* h = r.AddHistogram("kvserve_e2e_request_latency_seconds", "E2E.", {0.1, 1.0});
  h->Observe(0.05);
  h->Observe(0.1);  // le is inclusive
  h->Observe(0.5, 2);
  h->Observe(3.0);
  EXPECT_EQ(r.Render(),
            "# HELP kvserve_requests_running Requests running.\n"
            "# TYPE kvserve_requests_running gauge\n"
            "kvserve_requests_running 3\n"
            "# HELP kvserve_requests_total Finished requests.\n"
            "# TYPE kvserve_requests_total counter\n"
            "kvserve_requests_total{finish_reason=\"stop\"} 2\n"
            "kvserve_requests_total{finish_reason=\"length\"} 1\n"
            "# HELP kvserve_e2e_request_latency_seconds E2E.\n"
            "# TYPE kvserve_e2e_request_latency_seconds histogram\n"
            "kvserve_e2e_request_latency_seconds_bucket{le=\"0.1\"} 2\n"
            "kvserve_e2e_request_latency_seconds_bucket{le=\"1\"} 4\n"
            "kvserve_e2e_request_latency_seconds_bucket{le=\"+Inf\"} 5\n"
            "kvserve_e2e_request_latency_seconds_sum 4.15\n"
            "kvserve_e2e_request_latency_seconds_count 5\n");
}

TEST(MetricsTest, SameNameAndLabelsIsTheSameSeries) {
  MetricsRegistry r;
  Counter* a = r.AddCounter("c", "h", {{"k", "v"}});
  Counter* b = r.AddCounter("c", "h", {{"k", "v"}});
  EXPECT_EQ(a, b);
  EXPECT_NE(a, r.AddCounter("c", "h", {{"k", "w"}}));
}

TEST(MetricsTest, ConcurrentIncrementsAreNotLost) {
  MetricsRegistry r;
  Counter* c = r.AddCounter("c", "h");
  Histogram* h = r.AddHistogram("h", "h", LatencyBuckets());
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 10000; ++i) {
        c->Inc();
        h->Observe(0.003);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(c->value(), 40000);
  EXPECT_EQ(h->Read().count, 40000);
}

TEST(MetricsTest, EscapesLabelValues) {
  MetricsRegistry r;
  r.AddGauge("g", "h", {{"model", "a\"b\\c"}})->Set(1.5);
  EXPECT_NE(r.Render().find("g{model=\"a\\\"b\\\\c\"} 1.5\n"), std::string::npos);
}

}  // namespace
}  // namespace kvs::server
