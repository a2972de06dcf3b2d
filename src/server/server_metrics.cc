#include "server/server_metrics.h"

namespace kvs::server {

ServerMetrics::ServerMetrics() {
  MetricsRegistry& r = registry_;
  running_ = r.AddGauge("kvserve_requests_running", "Requests being computed by the engine.");
  waiting_ = r.AddGauge("kvserve_requests_waiting", "Requests queued in the engine.");
  const char* finished_help = "Finished requests by finish reason.";
  finished_stop_ =
      r.AddCounter("kvserve_requests_total", finished_help, {{"finish_reason", "stop"}});
  finished_length_ =
      r.AddCounter("kvserve_requests_total", finished_help, {{"finish_reason", "length"}});
  finished_abort_ =
      r.AddCounter("kvserve_requests_total", finished_help, {{"finish_reason", "abort"}});
  finished_error_ =
      r.AddCounter("kvserve_requests_total", finished_help, {{"finish_reason", "error"}});
  prompt_tokens_ = r.AddCounter("kvserve_prompt_tokens_total", "Prompt tokens processed.");
  generation_tokens_ = r.AddCounter("kvserve_generation_tokens_total", "Tokens generated.");
  cache_queried_ = r.AddCounter("kvserve_prefix_cache_queried_tokens_total",
                                "Prompt tokens looked up in the prefix cache.");
  cache_hit_ = r.AddCounter("kvserve_prefix_cache_hit_tokens_total",
                            "Prompt tokens found in the prefix cache.");
  blocks_total_ = r.AddGauge("kvserve_kv_blocks_total", "KV cache blocks in the pool.");
  blocks_used_ = r.AddGauge("kvserve_kv_blocks_used", "KV cache blocks held by requests.");
  tokens_used_ = r.AddGauge("kvserve_kv_tokens_used",
                            "Token slots of used KV blocks that hold computed tokens.");
  block_size_ = r.AddGauge("kvserve_kv_block_size", "Tokens per KV block.");
  preemptions_ = r.AddCounter("kvserve_preemptions_total", "Requests preempted for KV space.");
  ttft_ = r.AddHistogram("kvserve_time_to_first_token_seconds",
                         "From request arrival to its first generated token.", LatencyBuckets());
  itl_ = r.AddHistogram("kvserve_inter_token_latency_seconds",
                        "Between consecutive generated tokens of a request.", LatencyBuckets());
  e2e_ = r.AddHistogram("kvserve_e2e_request_latency_seconds",
                        "From request arrival to its last token.", LatencyBuckets());
}

void ServerMetrics::RecordFinish(FinishReason reason) {
  switch (reason) {
    case FinishReason::kStop:
      finished_stop_->Inc();
      break;
    case FinishReason::kLength:
      finished_length_->Inc();
      break;
    case FinishReason::kAbort:
      finished_abort_->Inc();
      break;
    case FinishReason::kError:
    case FinishReason::kNone:
      finished_error_->Inc();
      break;
  }
}

void ServerMetrics::RecordInterTokenLatency(double seconds, int n_tokens) {
  if (n_tokens <= 0) return;
  // Tokens that arrive together (one coalesced read) share the interval.
  itl_->Observe(seconds / n_tokens, n_tokens);
}

std::string ServerMetrics::Render(const EngineStats& stats) {
  running_->Set(static_cast<double>(stats.requests_running));
  waiting_->Set(static_cast<double>(stats.requests_waiting));
  prompt_tokens_->Set(static_cast<double>(stats.prompt_tokens));
  generation_tokens_->Set(static_cast<double>(stats.generated_tokens));
  cache_queried_->Set(static_cast<double>(stats.prefix_cache_queried_tokens));
  cache_hit_->Set(static_cast<double>(stats.prefix_cache_hit_tokens));
  blocks_total_->Set(static_cast<double>(stats.kv_blocks_total));
  blocks_used_->Set(static_cast<double>(stats.kv_blocks_used));
  tokens_used_->Set(static_cast<double>(stats.kv_tokens_used));
  block_size_->Set(static_cast<double>(stats.kv_block_size));
  preemptions_->Set(static_cast<double>(stats.preemptions));
  return registry_.Render();
}

}  // namespace kvs::server
