// Summary statistics of latency samples: mean and the percentiles the
// report carries, with one stated definition.
//
// Percentile definition: linear interpolation between closest ranks
// (numpy's default, "linear"): p-th percentile of sorted x[0..n-1] is at
// rank p/100 * (n-1). Chosen because it is what operators' tools compute,
// so our p99 can be compared with theirs.
#pragma once

#include <cstdint>
#include <vector>

namespace kvs::loadgen {

struct Summary {
  int64_t count = 0;
  double mean = 0;
  double p50 = 0;
  double p90 = 0;
  double p99 = 0;
  double max = 0;
};

// REQUIRES: 0 <= p <= 100. Returns 0 for no samples.
double Percentile(std::vector<double> samples, double p);

// All zeros (count 0) for no samples.
Summary Summarize(std::vector<double> samples);

}  // namespace kvs::loadgen
