// RouterStats: the router's own counters for /metrics. Thread-safe (atomics
// and one mutex for the TTFT sums).
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>

namespace kvs::router {

class RouterStats {
 public:
  std::atomic<int64_t> requests_ok{0};
  std::atomic<int64_t> requests_failed{0};  // an error answer or stream end
  std::atomic<int64_t> requests_cancelled{0};
  std::atomic<int64_t> retries_unreachable{0};  // another decode worker
  std::atomic<int64_t> retries_colocated{0};    // the prefill side failed
  std::atomic<int64_t> retries_busy{0};         // a decode worker answered 429
  std::atomic<int64_t> disaggregated{0};        // answers that ran imported
  std::atomic<int64_t> colocated{0};            // answers that ran colocated

  void RecordFirstByte(double seconds);
  std::string MetricsText() const;

 private:
  mutable std::mutex mu_;
  double ttft_sum_ = 0;    // guarded by mu_
  int64_t ttft_count_ = 0;  // guarded by mu_
};

}  // namespace kvs::router
