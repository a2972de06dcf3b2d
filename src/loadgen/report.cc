#include "loadgen/report.h"

#include <algorithm>
#include <cstdio>
#include <map>
#include <set>

#include "loadgen/stats.h"

namespace kvs::loadgen {
namespace {

using nlohmann::json;

json SummaryJson(const std::vector<double>& v) {
  Summary s = Summarize(v);
  return {{"count", s.count}, {"mean", s.mean}, {"p50", s.p50},
          {"p90", s.p90},     {"p99", s.p99},   {"max", s.max}};
}

// Difference of a counter between the first and last samples that have it.
json CounterDelta(const std::vector<MetricsSample>& samples,
                  double MetricsSample::*field) {
  const MetricsSample* first = nullptr;
  const MetricsSample* last = nullptr;
  for (const auto& s : samples) {
    if (!s.ok || s.*field < 0) continue;
    if (first == nullptr) first = &s;
    last = &s;
  }
  if (first == nullptr) return nullptr;
  return last->*field - first->*field;
}

json MaxOf(const std::vector<MetricsSample>& samples, double MetricsSample::*field) {
  double m = -1;
  for (const auto& s : samples) m = std::max(m, s.*field);
  return m < 0 ? json(nullptr) : json(m);
}

void AddKvFigures(const std::vector<MetricsSample>& samples, int block_size_flag, json& r) {
  r["kv_blocks_used_max"] = MaxOf(samples, &MetricsSample::kv_blocks_used);
  r["kv_blocks_total"] = MaxOf(samples, &MetricsSample::kv_blocks_total);
  r["requests_running_max"] = MaxOf(samples, &MetricsSample::requests_running);
  r["requests_waiting_max"] = MaxOf(samples, &MetricsSample::requests_waiting);
  r["preemptions"] = CounterDelta(samples, &MetricsSample::preemptions_total);
  const json queried = CounterDelta(samples, &MetricsSample::prefix_queried_tokens_total);
  const json hit = CounterDelta(samples, &MetricsSample::prefix_hit_tokens_total);
  r["prefix_cache_hit_rate"] = (queried.is_number() && hit.is_number() && queried.get<double>() > 0)
                                   ? json(hit.get<double>() / queried.get<double>())
                                   : json(nullptr);
  double eff_sum = 0, eff_min = 1e9;
  int n_eff = 0;
  bool over_budget = false;
  for (const auto& s : samples) {
    if (s.ok && s.kv_blocks_total >= 0 && s.kv_blocks_used > s.kv_blocks_total) over_budget = true;
    if (!s.ok || s.kv_blocks_used <= 0 || s.kv_tokens_used < 0) continue;
    const double bs = s.kv_block_size > 0 ? s.kv_block_size : block_size_flag;
    const double e = s.kv_tokens_used / (s.kv_blocks_used * bs);
    eff_sum += e;
    eff_min = std::min(eff_min, e);
    ++n_eff;
  }
  r["kv_blocks_used_above_total"] = over_budget;
  r["kv_efficiency"] = n_eff > 0 ? json(eff_sum / n_eff) : json(nullptr);
  r["kv_efficiency_min"] = n_eff > 0 ? json(eff_min) : json(nullptr);
  r["kv_efficiency_samples"] = n_eff;
}

void AddRssFigures(const std::vector<MetricsSample>& samples, double warm_t, json& r) {
  r["peak_rss_mb"] = MaxOf(samples, &MetricsSample::rss_mb);
  json after = nullptr, end = nullptr;
  for (const auto& s : samples) {
    if (s.rss_mb < 0) continue;
    if (after.is_null() && s.t_s >= warm_t) after = s.rss_mb;
    end = s.rss_mb;
  }
  r["rss_after_warmup_mb"] = after;
  r["rss_end_mb"] = end;
  r["rss_drift_mb"] = (after.is_number() && end.is_number())
                          ? json(end.get<double>() - after.get<double>())
                          : json(nullptr);
}

}  // namespace

json BuildReport(const RunResult& run, const std::vector<MetricsSample>& samples,
                 const ReportContext& c) {
  json r;
  r["scenario"] = c.scenario;
  r["mode"] = c.mode;
  r["rate"] = c.rate;
  r["concurrency"] = c.concurrency;
  r["seed"] = c.seed;
  r["model"] = c.model;
  r["max_model_len"] = c.max_model_len;
  r["chars_per_token"] = c.chars_per_token;
  r["lengths"] = {{"system_prompt_tokens", c.lengths.system_prompt_tokens},
                  {"prompt_tokens", c.lengths.prompt_tokens},
                  {"max_tokens", c.lengths.max_tokens},
                  {"turns", c.lengths.turns},
                  {"tenants", c.lengths.tenants}};
  r["duration_s"] = run.wall_s;

  std::vector<double> ttft, itl, e2e, tpot;
  std::map<std::string, std::vector<double>> itl_by_tag, ttft_by_tag;
  int64_t ok = 0, failed = 0, good = 0, prompt = 0, output = 0, cached = 0;
  std::set<std::string> errors;
  double first_token_t = 1e300;  // when the first answer's first token arrived
  for (const auto& q : run.requests) {
    if (q.ok) first_token_t = std::min(first_token_t, q.start_s + q.ttft_ms / 1e3);
  }
  int64_t warm_prompt = 0, warm_cached = 0;
  double first_done_t = 1e300;
  json timeline = json::array();
  for (const auto& q : run.requests) {
    timeline.push_back({{"start_s", q.start_s}, {"ttft_ms", q.ttft_ms}, {"e2e_ms", q.e2e_ms},
                        {"ok", q.ok}, {"tag", q.tag}, {"output_tokens", q.output_tokens}});
    if (!q.ok) {
      ++failed;
      if (errors.size() < 5) errors.insert(q.error);
      continue;
    }
    ++ok;
    first_done_t = std::min(first_done_t, q.start_s + q.e2e_ms / 1e3);
    ttft.push_back(q.ttft_ms);
    e2e.push_back(q.e2e_ms);
    if (q.output_tokens > 1) tpot.push_back(q.TpotMs());
    itl.insert(itl.end(), q.itl_ms.begin(), q.itl_ms.end());
    itl_by_tag[q.tag].insert(itl_by_tag[q.tag].end(), q.itl_ms.begin(), q.itl_ms.end());
    ttft_by_tag[q.tag].push_back(q.ttft_ms);
    prompt += q.prompt_tokens;
    output += q.output_tokens;
    cached += q.cached_tokens;
    if (q.start_s >= first_token_t) {
      warm_prompt += q.prompt_tokens;
      warm_cached += q.cached_tokens;
    }
    const bool ttft_ok = c.slo_ttft_ms <= 0 || q.ttft_ms <= c.slo_ttft_ms;
    const bool tpot_ok = c.slo_tpot_ms <= 0 || q.TpotMs() <= c.slo_tpot_ms;
    if (ttft_ok && tpot_ok) ++good;
  }
  const double wall = std::max(run.wall_s, 1e-9);
  r["requests_ok"] = ok;
  r["requests_failed"] = failed;
  r["errors"] = std::vector<std::string>(errors.begin(), errors.end());
  r["ttft_ms"] = SummaryJson(ttft);
  r["itl_ms"] = SummaryJson(itl);
  r["e2e_ms"] = SummaryJson(e2e);
  r["tpot_ms"] = SummaryJson(tpot);
  r["itl_ms_by_tag"] = json::object();
  for (const auto& [tag, v] : itl_by_tag) r["itl_ms_by_tag"][tag] = SummaryJson(v);
  r["ttft_ms_by_tag"] = json::object();
  for (const auto& [tag, v] : ttft_by_tag) r["ttft_ms_by_tag"][tag] = SummaryJson(v);
  r["prompt_tokens"] = prompt;
  r["output_tokens"] = output;
  r["cached_tokens"] = cached;
  r["request_throughput_rps"] = ok / wall;
  r["output_tokens_per_s"] = output / wall;
  r["total_tokens_per_s"] = (prompt + output) / wall;
  r["slo"] = {{"ttft_ms", c.slo_ttft_ms}, {"tpot_ms", c.slo_tpot_ms}};
  r["goodput_rps"] = good / wall;
  r["goodput_fraction"] = ok + failed > 0 ? static_cast<double>(good) / (ok + failed) : 0.0;
  r["prefix_cache_hit_rate_client"] = prompt > 0 ? json(static_cast<double>(cached) / prompt)
                                                 : json(nullptr);
  r["prefix_cache_hit_rate_after_warmup"] =
      warm_prompt > 0 ? json(static_cast<double>(warm_cached) / warm_prompt) : json(nullptr);
  AddKvFigures(samples, c.kv_block_size, r);
  AddRssFigures(samples, first_done_t, r);
  json series = json::array();
  for (const auto& s : samples) {
    if (!s.ok && s.rss_mb < 0) continue;
    series.push_back({{"t_s", s.t_s},
                      {"kv_blocks_used", s.kv_blocks_used},
                      {"kv_blocks_total", s.kv_blocks_total},
                      {"kv_tokens_used", s.kv_tokens_used},
                      {"running", s.requests_running},
                      {"waiting", s.requests_waiting},
                      {"preemptions_total", s.preemptions_total},
                      {"rss_mb", s.rss_mb}});
  }
  r["samples"] = std::move(series);
  r["requests"] = std::move(timeline);
  return r;
}

}  // namespace kvs::loadgen
