// ServerMetrics: the metric names kvserve exports (fixed: dashboards and the
// load generator depend on them), bound to one MetricsRegistry.
//
// Request-level numbers (finish reasons, latencies) are recorded by the
// routes as requests finish; engine-level numbers (queue lengths, token
// counts, KV blocks, preemptions) are copied from EngineStats at scrape time,
// so the engine thread never touches the registry. Thread-safe.
//
// Beside the kvserve_* series, the same numbers under vLLM's names and
// semantics (the inference gateway's "model server protocol", which
// endpoint pickers scrape to route): vllm:num_requests_waiting / _running,
// vllm:kv_cache_usage_perc (0-1: the share of blocks held by requests) and
// the older vllm:gpu_cache_usage_perc, vllm:cache_config_info
// (block_size, num_gpu_blocks), vllm:lora_requests_info (no adapters), the
// prefix-cache query/hit token counters, and TTFT / inter-token histograms
// with vLLM's buckets. They carry vLLM's labels model_name and engine.
#pragma once

#include <string>
#include <utility>

#include "engine/engine_config.h"
#include "engine/request_types.h"
#include "server/metrics.h"

namespace kvs::server {

class ServerMetrics {
 public:
  // model_name: the served model's name, for the vllm:* series' label.
  explicit ServerMetrics(std::string model_name = "");

  void RecordFinish(FinishReason reason);
  void RecordTimeToFirstToken(double seconds) {
    ttft_->Observe(seconds);
    vllm_ttft_->Observe(seconds);
  }
  // n_tokens tokens arrived together, `seconds` after the previous ones.
  void RecordInterTokenLatency(double seconds, int n_tokens);
  void RecordE2eLatency(double seconds) { e2e_->Observe(seconds); }
  // A disaggregated request's time to first token in its parts: waiting for
  // KV blocks, the prefill worker's part (its queue, compute and transfer),
  // and the first decode step (from the KV landing to the first token).
  void RecordImportPhases(double queue_s, double transfer_s, double first_step_s) {
    import_queue_->Observe(queue_s);
    import_transfer_->Observe(transfer_s);
    import_first_step_->Observe(first_step_s);
  }

  // Copies `stats` into the engine-level series and renders everything.
  // now_unix_s: the scrape's wall-clock time, vllm:lora_requests_info's
  // value (vLLM sets it to the current time); < 0: read the clock.
  std::string Render(const EngineStats& stats, double now_unix_s = -1.0);

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
  Histogram* import_queue_;
  Histogram* import_transfer_;
  Histogram* import_first_step_;

  // vLLM's names (model server protocol).
  const Labels labels_;  // {model_name, engine}
  Gauge* vllm_running_;
  Gauge* vllm_waiting_;
  Gauge* vllm_kv_usage_;
  Gauge* vllm_gpu_cache_usage_;
  Counter* vllm_prefix_queries_;
  Counter* vllm_prefix_hits_;
  Counter* vllm_preemptions_;
  Counter* vllm_prompt_tokens_;
  Counter* vllm_generation_tokens_;
  Gauge* vllm_lora_info_;
  Histogram* vllm_ttft_;
  Histogram* vllm_itl_;
};

}  // namespace kvs::server
