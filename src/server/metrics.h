// MetricsRegistry: counters, gauges and histograms, rendered in the
// Prometheus text exposition format (version 0.0.4) for GET /metrics.
//
// Ownership: the registry owns every metric; Add* return pointers that stay
// valid for the registry's life. Thread-safety: Add* and Render may be
// called from any thread; Counter/Gauge/Histogram updates are lock-free
// (counters, gauges) or take the histogram's own mutex. Series of one family
// share its name, help and type; labels tell them apart.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace kvs::server {

using Labels = std::vector<std::pair<std::string, std::string>>;

// A number that only goes up. Set() mirrors a monotonic count kept
// elsewhere (the engine's), read at scrape time.
class Counter {
 public:
  void Inc(double v = 1.0);
  void Set(double v);
  double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0.0};
};

class Gauge {
 public:
  void Set(double v) { value_.store(v, std::memory_order_relaxed); }
  double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0.0};
};

// Cumulative buckets with upper bounds (le), plus _sum and _count.
class Histogram {
 public:
  // REQUIRES: bounds strictly increasing.
  explicit Histogram(std::vector<double> bounds);
  void Observe(double v, int64_t n = 1);  // n observations of value v

  struct Snapshot {
    std::vector<double> bounds;
    std::vector<int64_t> cumulative;  // [bounds.size() + 1], last is +Inf
    double sum = 0;
    int64_t count = 0;
  };
  Snapshot Read() const;

 private:
  const std::vector<double> bounds_;
  mutable std::mutex mu_;
  std::vector<int64_t> counts_;  // per bucket, not cumulative; last is +Inf
  double sum_ = 0;
  int64_t count_ = 0;
};

class MetricsRegistry {
 public:
  MetricsRegistry();
  ~MetricsRegistry();
  MetricsRegistry(const MetricsRegistry&) = delete;
  MetricsRegistry& operator=(const MetricsRegistry&) = delete;

  // A second Add with the same name and labels returns the same metric.
  // REQUIRES: a name is always added with the same type.
  Counter* AddCounter(const std::string& name, const std::string& help, const Labels& labels = {});
  Gauge* AddGauge(const std::string& name, const std::string& help, const Labels& labels = {});
  Histogram* AddHistogram(const std::string& name, const std::string& help,
                          std::vector<double> bounds, const Labels& labels = {});

  // "# HELP", "# TYPE" and one line per series, families in the order they
  // were first added.
  std::string Render() const;

 private:
  struct Family;
  Family* FindOrAddFamily(const std::string& name, const std::string& help, const char* type);

  mutable std::mutex mu_;
  std::vector<std::unique_ptr<Family>> families_;
};

// Default latency buckets in seconds (1 ms .. 60 s).
std::vector<double> LatencyBuckets();

}  // namespace kvs::server
