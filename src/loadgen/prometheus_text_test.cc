#include "loadgen/prometheus_text.h"

#include <gtest/gtest.h>

#include <cmath>

namespace kvs::loadgen {
namespace {

constexpr const char* kScrape = R"(# HELP kvserve_kv_blocks_used KV blocks in use
# TYPE kvserve_kv_blocks_used gauge
kvserve_kv_blocks_used 42
kvserve_kv_blocks_total 128
kvserve_preemptions_total 3 1700000000000
kvserve_requests_total{status="ok"} 10
kvserve_requests_total{status="error",note="a}b"} 2
kvserve_latency_seconds_bucket{le="+Inf"} 12
kvserve_weird NaN
kvserve_unbounded +Inf
not a metric line
)";

TEST(PrometheusTextTest, ReadsGaugesCountersAndLabels) {
  PrometheusSamples m = PrometheusSamples::Parse(kScrape);
  EXPECT_EQ(m.Get("kvserve_kv_blocks_used").value_or(-1), 42);
  EXPECT_EQ(m.Get("kvserve_kv_blocks_total").value_or(-1), 128);
  EXPECT_EQ(m.Get("kvserve_preemptions_total").value_or(-1), 3);  // timestamp ignored
  EXPECT_EQ(m.GetSeries("kvserve_requests_total", "status=\"ok\"").value_or(-1), 10);
  EXPECT_EQ(m.Get("kvserve_requests_total").value_or(-1), 12);  // summed over labels
  EXPECT_EQ(m.Get("kvserve_latency_seconds_bucket").value_or(-1), 12);  // le="+Inf" is a label
  EXPECT_TRUE(std::isinf(m.Get("kvserve_unbounded").value_or(0)));
  EXPECT_TRUE(std::isnan(m.Get("kvserve_weird").value_or(0)));
  EXPECT_FALSE(m.Get("kvserve_missing").has_value());
  EXPECT_FALSE(m.Get("not").has_value());
}

TEST(PrometheusTextTest, EmptyInput) {
  EXPECT_EQ(PrometheusSamples::Parse("").size(), 0u);
}

}  // namespace
}  // namespace kvs::loadgen
