// ServerMetrics: the metric names kvserve exports (fixed: dashboards and the
// load generator depend on them), bound to one MetricsRegistry.
//
// Request-level numbers (finish reasons, latencies) are recorded by the
// routes as requests finish; engine-level numbers (queue lengths, token
// counts, KV blocks, preemptions) are copied from EngineStats at scrape time,
// so the engine thread never touches the registry. Thread-safe.
#pragma once

#include <string>

#include "engine/engine_config.h"
#include "engine/request_types.h"
#include "server/metrics.h"

namespace kvs::server {

class ServerMetrics {
 public:
  ServerMetrics();

  void RecordFinish(FinishReason reason);
  void RecordTimeToFirstToken(double seconds) { ttft_->Observe(seconds); }
  // n_tokens tokens arrived together, `seconds` after the previous ones.
  void RecordInterTokenLatency(double seconds, int n_tokens);
  void RecordE2eLatency(double seconds) { e2e_->Observe(seconds); }

  // Copies `stats` into the engine-level series and renders everything.
  std::string Render(const EngineStats& stats);

 private:
  MetricsRegistry registry_;
  Gauge* running_;
  Gauge* waiting_;
  Counter* prompt_tokens_;
  Counter* generation_tokens_;
  Counter* cache_queried_;
  Counter* cache_hit_;
  Gauge* blocks_total_;
  Gauge* blocks_used_;
  Gauge* tokens_used_;
  Gauge* block_size_;
  Counter* preemptions_;
  Counter* finished_stop_;
  Counter* finished_length_;
  Counter* finished_abort_;
  Counter* finished_error_;
  Histogram* ttft_;
  Histogram* itl_;
  Histogram* e2e_;
};

}  // namespace kvs::server
