#include "server/server_metrics.h"

#include <chrono>
#include <vector>

namespace kvs::server {
namespace {

// vLLM's buckets (vllm/v1/metrics/loggers.py), so that dashboards and
// gateways built for vLLM read the same quantiles.
std::vector<double> VllmTtftBuckets() {
  return {0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1,  0.25,  0.5,   0.75,
          1.0,   2.5,   5.0,  7.5,  10.0, 20.0, 40.0, 80.0, 160.0, 640.0, 2560.0};
}
std::vector<double> VllmItlBuckets() {
  return {0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2,  0.3,  0.4, 0.5,
          0.75, 1.0,   2.5,  5.0,   7.5, 10.0, 20.0, 40.0, 80.0};
}

}  // namespace

ServerMetrics::ServerMetrics(std::string model_name)
    : labels_{{"model_name", std::move(model_name)}, {"engine", "0"}} {
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
  const char* phases = "kvserve_disagg_ttft_phase_seconds";
  const char* phases_help =
      "Disaggregated requests' time to first token by phase: queue (waiting for KV blocks), "
      "transfer (reservation to the last KV frame: the prefill worker's queue, compute and "
      "send), first_step (KV landed to the first token).";
  import_queue_ = r.AddHistogram(phases, phases_help, LatencyBuckets(), {{"phase", "queue"}});
  import_transfer_ =
      r.AddHistogram(phases, phases_help, LatencyBuckets(), {{"phase", "transfer"}});
  import_first_step_ =
      r.AddHistogram(phases, phases_help, LatencyBuckets(), {{"phase", "first_step"}});

  vllm_running_ = r.AddGauge("vllm:num_requests_running",
                             "Number of requests in model execution batches.", labels_);
  vllm_waiting_ = r.AddGauge("vllm:num_requests_waiting",
                             "Number of requests waiting to be processed.", labels_);
  vllm_kv_usage_ =
      r.AddGauge("vllm:kv_cache_usage_perc", "KV-cache usage. 1 means 100 percent usage.", labels_);
  vllm_gpu_cache_usage_ = r.AddGauge(
      "vllm:gpu_cache_usage_perc",
      "KV-cache usage. 1 means 100 percent usage. (vLLM's older name for kv_cache_usage_perc.)",
      labels_);
  vllm_prefix_queries_ =
      r.AddCounter("vllm:prefix_cache_queries_total",
                   "Prefix cache queries, in terms of number of queried tokens.", labels_);
  vllm_prefix_hits_ =
      r.AddCounter("vllm:prefix_cache_hits_total",
                   "Prefix cache hits, in terms of number of cached tokens.", labels_);
  vllm_preemptions_ = r.AddCounter("vllm:num_preemptions_total",
                                   "Cumulative number of preemption from the engine.", labels_);
  vllm_prompt_tokens_ =
      r.AddCounter("vllm:prompt_tokens_total", "Number of prefill tokens processed.", labels_);
  vllm_generation_tokens_ = r.AddCounter("vllm:generation_tokens_total",
                                         "Number of generation tokens processed.", labels_);
  vllm_lora_info_ =
      r.AddGauge("vllm:lora_requests_info", "Running stats on lora requests.",
                 {{"max_lora", "0"}, {"waiting_lora_adapters", ""}, {"running_lora_adapters", ""}});
  vllm_ttft_ =
      r.AddHistogram("vllm:time_to_first_token_seconds",
                     "Histogram of time to first token in seconds.", VllmTtftBuckets(), labels_);
  vllm_itl_ =
      r.AddHistogram("vllm:inter_token_latency_seconds",
                     "Histogram of inter-token latency in seconds.", VllmItlBuckets(), labels_);
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
  vllm_itl_->Observe(seconds / n_tokens, n_tokens);
}

std::string ServerMetrics::Render(const EngineStats& stats, double now_unix_s) {
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

  vllm_running_->Set(static_cast<double>(stats.requests_running));
  vllm_waiting_->Set(static_cast<double>(stats.requests_waiting));
  // vLLM's BlockPool.get_usage(): 1 - free / total, where free blocks
  // include cached ones nobody holds (they are evictable); the same as
  // blocks held by requests over the pool.
  const double usage = stats.kv_blocks_total > 0 ? static_cast<double>(stats.kv_blocks_used) /
                                                       static_cast<double>(stats.kv_blocks_total)
                                                 : 0.0;
  vllm_kv_usage_->Set(usage);
  vllm_gpu_cache_usage_->Set(usage);
  vllm_prefix_queries_->Set(static_cast<double>(stats.prefix_cache_queried_tokens));
  vllm_prefix_hits_->Set(static_cast<double>(stats.prefix_cache_hit_tokens));
  vllm_preemptions_->Set(static_cast<double>(stats.preemptions));
  vllm_prompt_tokens_->Set(static_cast<double>(stats.prompt_tokens));
  vllm_generation_tokens_->Set(static_cast<double>(stats.generated_tokens));
  if (now_unix_s < 0) {
    now_unix_s =
        std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  }
  vllm_lora_info_->Set(now_unix_s);  // vLLM: set_to_current_time()
  // An info metric (a gauge fixed at 1) whose labels carry the cache
  // configuration; the pool's size is known once the engine reports it.
  registry_
      .AddGauge("vllm:cache_config_info", "Information of the LLMEngine CacheConfig",
                {{"block_size", std::to_string(stats.kv_block_size)},
                 {"num_gpu_blocks", std::to_string(stats.kv_blocks_total)},
                 {"engine", "0"}})
      ->Set(1);
  return registry_.Render();
}

}  // namespace kvs::server
