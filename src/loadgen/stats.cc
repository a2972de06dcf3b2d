#include "loadgen/stats.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "base/check.h"

namespace kvs::loadgen {
namespace {

// REQUIRES: sorted non-empty.
double SortedPercentile(const std::vector<double>& s, double p) {
  const double rank = p / 100.0 * static_cast<double>(s.size() - 1);
  const size_t lo = static_cast<size_t>(std::floor(rank));
  const size_t hi = std::min(lo + 1, s.size() - 1);
  const double frac = rank - static_cast<double>(lo);
  return s[lo] + (s[hi] - s[lo]) * frac;
}

}  // namespace

double Percentile(std::vector<double> samples, double p) {
  KVS_CHECK(p >= 0 && p <= 100) << "percentile out of range: " << p;
  if (samples.empty()) return 0;
  std::sort(samples.begin(), samples.end());
  return SortedPercentile(samples, p);
}

Summary Summarize(std::vector<double> samples) {
  Summary s;
  if (samples.empty()) return s;
  std::sort(samples.begin(), samples.end());
  s.count = static_cast<int64_t>(samples.size());
  s.mean = std::accumulate(samples.begin(), samples.end(), 0.0) / static_cast<double>(s.count);
  s.p50 = SortedPercentile(samples, 50);
  s.p90 = SortedPercentile(samples, 90);
  s.p99 = SortedPercentile(samples, 99);
  s.max = samples.back();
  return s;
}

}  // namespace kvs::loadgen
