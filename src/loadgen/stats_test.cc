#include "loadgen/stats.h"

#include <gtest/gtest.h>

namespace kvs::loadgen {
namespace {

TEST(StatsTest, PercentileInterpolatesBetweenRanks) {
  // numpy.percentile([1,2,3,4,5], q): 50 -> 3, 90 -> 4.6, 99 -> 4.96, 25 -> 2.
  const std::vector<double> v = {5, 1, 4, 2, 3};
  EXPECT_DOUBLE_EQ(Percentile(v, 50), 3.0);
  EXPECT_NEAR(Percentile(v, 90), 4.6, 1e-12);
  EXPECT_NEAR(Percentile(v, 99), 4.96, 1e-12);
  EXPECT_DOUBLE_EQ(Percentile(v, 25), 2.0);
  EXPECT_DOUBLE_EQ(Percentile(v, 0), 1.0);
  EXPECT_DOUBLE_EQ(Percentile(v, 100), 5.0);
}

TEST(StatsTest, SummaryOfKnownSamples) {
  std::vector<double> v;
  for (int i = 1; i <= 100; ++i) v.push_back(i);
  Summary s = Summarize(v);
  EXPECT_EQ(s.count, 100);
  EXPECT_DOUBLE_EQ(s.mean, 50.5);
  EXPECT_NEAR(s.p50, 50.5, 1e-12);
  EXPECT_NEAR(s.p90, 90.1, 1e-12);
  EXPECT_NEAR(s.p99, 99.01, 1e-12);
  EXPECT_DOUBLE_EQ(s.max, 100);
}

TEST(StatsTest, EmptyAndSingle) {
  EXPECT_EQ(Summarize({}).count, 0);
  EXPECT_DOUBLE_EQ(Percentile({}, 50), 0);
  Summary one = Summarize({7});
  EXPECT_DOUBLE_EQ(one.p50, 7);
  EXPECT_DOUBLE_EQ(one.p99, 7);
}

}  // namespace
}  // namespace kvs::loadgen
