// Report: the numbers of one run, as the JSON document --out writes and the
// table printed to stdout.
//
// Definitions (the ones the docs and tests rely on):
//   ttft_ms, itl_ms, e2e_ms, tpot_ms   Summary (mean/p50/p90/p99/max) over
//       successful requests (itl over every gap of every request).
//   output_tokens_per_s                output tokens of successful requests / wall_s
//   goodput_rps                        successful requests with ttft <= SLO and
//       tpot <= SLO, per second of wall time (an SLO of 0 is no constraint)
//   prefix_cache_hit_rate              server counters over the run:
//       delta(hit tokens) / delta(queried tokens); null if not exported
//   prefix_cache_hit_rate_after_warmup client side, from usage: cached /
//       prompt tokens of requests sent after the first token of the first
//       request arrived (by then the shared prefix can be cached)
//   kv_efficiency                      mean over samples with blocks in use of
//       kv_tokens_used / (kv_blocks_used * block_size); null if the server
//       does not export kvserve_kv_tokens_used
//   preemptions                        delta of kvserve_preemptions_total
//   peak_rss_mb / rss_drift_mb         server VmRSS: max, and last minus the
//       first sample after the first request completed (the pool is allocated)
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "loadgen/load_runner.h"
#include "loadgen/metrics_sampler.h"
#include "loadgen/scenario.h"

namespace kvs::loadgen {

struct ReportContext {
  std::string scenario;
  std::string mode;  // "open" or "closed"
  double rate = 0;
  int concurrency = 0;
  uint64_t seed = 0;
  std::string model;
  int max_model_len = 0;
  double chars_per_token = 0;
  ResolvedLengths lengths;
  double slo_ttft_ms = 0;
  double slo_tpot_ms = 0;
  int kv_block_size = 16;  // used when the server does not export it
};

nlohmann::json BuildReport(const RunResult& run, const std::vector<MetricsSample>& samples,
                           const ReportContext& context);

// A human-readable table of the main figures of one report.
std::string FormatReportTable(const nlohmann::json& report);

// One row per labelled report, one column per key figure: the ablation view.
std::string FormatComparisonTable(const std::vector<std::string>& labels,
                                  const std::vector<nlohmann::json>& reports);

}  // namespace kvs::loadgen
