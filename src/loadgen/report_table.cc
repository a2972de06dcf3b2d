// Text tables of reports (declared in report.h): kept apart from the report
// arithmetic so that each file does one thing.
#include <cstdio>
#include <string>

#include "loadgen/report.h"

namespace kvs::loadgen {
namespace {

using nlohmann::json;

std::string Num(const json& v, const char* fmt = "%.1f") {
  if (!v.is_number()) return "n/a";
  char buf[64];
  std::snprintf(buf, sizeof(buf), fmt, v.get<double>());
  return buf;
}

std::string Pct(const json& v) {
  if (!v.is_number()) return "n/a";
  return Num(v.get<double>() * 100.0, "%.1f%%");
}

const json& At(const json& j, const char* key) {
  static const json kNull = nullptr;  // const, so not a mutable global
  auto it = j.find(key);
  return it == j.end() ? kNull : *it;
}

std::string Row(const std::string& name, const json& summary) {
  char buf[200];
  std::snprintf(buf, sizeof(buf), "  %-12s %10s %10s %10s %10s %10s\n", name.c_str(),
                Num(At(summary, "mean")).c_str(), Num(At(summary, "p50")).c_str(),
                Num(At(summary, "p90")).c_str(), Num(At(summary, "p99")).c_str(),
                Num(At(summary, "max")).c_str());
  return buf;
}

}  // namespace

std::string FormatReportTable(const json& r) {
  std::string out;
  char buf[400];
  std::snprintf(buf, sizeof(buf), "scenario %s, %s loop, %s ok, %s failed, %.1f s\n",
                At(r, "scenario").get<std::string>().c_str(),
                At(r, "mode").get<std::string>().c_str(), Num(At(r, "requests_ok"), "%.0f").c_str(),
                Num(At(r, "requests_failed"), "%.0f").c_str(),
                At(r, "duration_s").get<double>());
  out += buf;
  std::snprintf(buf, sizeof(buf), "  %-12s %10s %10s %10s %10s %10s\n", "latency (ms)", "mean",
                "p50", "p90", "p99", "max");
  out += buf;
  out += Row("ttft", At(r, "ttft_ms"));
  out += Row("itl", At(r, "itl_ms"));
  out += Row("tpot", At(r, "tpot_ms"));
  out += Row("e2e", At(r, "e2e_ms"));
  for (const auto& [tag, s] : At(r, "itl_ms_by_tag").items()) {
    if (At(r, "itl_ms_by_tag").size() > 1) out += Row("itl[" + tag + "]", s);
  }
  std::snprintf(buf, sizeof(buf),
                "  throughput: %s req/s, %s output tok/s, goodput %s req/s (%s of requests)\n",
                Num(At(r, "request_throughput_rps"), "%.2f").c_str(),
                Num(At(r, "output_tokens_per_s")).c_str(),
                Num(At(r, "goodput_rps"), "%.2f").c_str(),
                Pct(At(r, "goodput_fraction")).c_str());
  out += buf;
  std::snprintf(buf, sizeof(buf),
                "  prefix cache: hit rate %s (server), %s after warm-up (client)\n",
                Pct(At(r, "prefix_cache_hit_rate")).c_str(),
                Pct(At(r, "prefix_cache_hit_rate_after_warmup")).c_str());
  out += buf;
  std::snprintf(buf, sizeof(buf),
                "  kv: blocks used max %s of %s, efficiency %s (min %s), preemptions %s, "
                "waiting max %s\n",
                Num(At(r, "kv_blocks_used_max"), "%.0f").c_str(),
                Num(At(r, "kv_blocks_total"), "%.0f").c_str(), Pct(At(r, "kv_efficiency")).c_str(),
                Pct(At(r, "kv_efficiency_min")).c_str(), Num(At(r, "preemptions"), "%.0f").c_str(),
                Num(At(r, "requests_waiting_max"), "%.0f").c_str());
  out += buf;
  std::snprintf(buf, sizeof(buf), "  server rss: peak %s MiB, drift after warm-up %s MiB\n",
                Num(At(r, "peak_rss_mb")).c_str(), Num(At(r, "rss_drift_mb")).c_str());
  out += buf;
  for (const auto& e : At(r, "errors")) out += "  error: " + e.get<std::string>() + "\n";
  return out;
}

std::string FormatComparisonTable(const std::vector<std::string>& labels,
                                  const std::vector<json>& reports) {
  std::string out =
      "| variant | ok/failed | TTFT p50 ms | TTFT p99 ms | ITL p99 ms | ITL p99 short ms | "
      "out tok/s | goodput rps | prefix hit | preempt | KV max/total | KV eff | peak RSS MiB |\n"
      "|---|---|---|---|---|---|---|---|---|---|---|---|---|\n";
  for (size_t i = 0; i < reports.size() && i < labels.size(); ++i) {
    const json& r = reports[i];
    const json& by_tag = At(r, "itl_ms_by_tag");
    const json short_p99 = At(At(by_tag, "short"), "p99");
    out += "| " + labels[i] + " | " + Num(At(r, "requests_ok"), "%.0f") + "/" +
           Num(At(r, "requests_failed"), "%.0f") + " | " + Num(At(At(r, "ttft_ms"), "p50")) + " | " +
           Num(At(At(r, "ttft_ms"), "p99")) + " | " + Num(At(At(r, "itl_ms"), "p99")) + " | " +
           Num(short_p99) + " | " + Num(At(r, "output_tokens_per_s")) + " | " +
           Num(At(r, "goodput_rps"), "%.2f") + " | " + Pct(At(r, "prefix_cache_hit_rate")) +
           " | " + Num(At(r, "preemptions"), "%.0f") + " | " +
           Num(At(r, "kv_blocks_used_max"), "%.0f") + "/" + Num(At(r, "kv_blocks_total"), "%.0f") +
           " | " + Pct(At(r, "kv_efficiency")) + " | " + Num(At(r, "peak_rss_mb")) + " |\n";
  }
  return out;
}

}  // namespace kvs::loadgen
