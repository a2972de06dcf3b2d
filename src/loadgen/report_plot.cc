#include "loadgen/report_plot.h"

#include <algorithm>
#include <deque>
#include <vector>

#include "loadgen/stats.h"
#include "loadgen/svg_plot.h"

namespace kvs::loadgen {
namespace {

using nlohmann::json;

PlotSeries SampleSeries(const json& samples, const char* key, const char* name,
                        const char* color, bool dashed = false) {
  PlotSeries s{name, color, {}, dashed};
  for (const auto& x : samples) {
    if (x.contains(key) && x[key].is_number() && x[key].get<double>() >= 0) {
      s.points.emplace_back(x["t_s"].get<double>(), x[key].get<double>());
    }
  }
  return s;
}

}  // namespace

std::string PlotReport(const json& report, int window) {
  // Completed requests in completion order.
  struct Done {
    double t, ttft, e2e;
  };
  std::vector<Done> done;
  if (report.contains("requests")) {
    for (const auto& q : report["requests"]) {
      if (!q.value("ok", false)) continue;
      const double start = q["start_s"].get<double>();
      done.push_back({start + q["e2e_ms"].get<double>() / 1e3, q["ttft_ms"].get<double>(),
                      q["e2e_ms"].get<double>()});
    }
  }
  std::sort(done.begin(), done.end(), [](const Done& a, const Done& b) { return a.t < b.t; });
  PlotSeries p50{"TTFT p50", "#1f77b4", {}}, p90{"TTFT p90", "#ff7f0e", {}},
      p99{"TTFT p99", "#d62728", {}}, e2e50{"E2E p50", "#2ca02c", {}, true};
  std::deque<double> ttft_w, e2e_w;
  for (const Done& d : done) {
    ttft_w.push_back(d.ttft);
    e2e_w.push_back(d.e2e);
    if (static_cast<int>(ttft_w.size()) > window) ttft_w.pop_front(), e2e_w.pop_front();
    std::vector<double> tw(ttft_w.begin(), ttft_w.end()), ew(e2e_w.begin(), e2e_w.end());
    p50.points.emplace_back(d.t, Percentile(tw, 50));
    p90.points.emplace_back(d.t, Percentile(tw, 90));
    p99.points.emplace_back(d.t, Percentile(tw, 99));
    e2e50.points.emplace_back(d.t, Percentile(ew, 50));
  }
  std::vector<Chart> charts;
  charts.push_back({"Latency percentiles (rolling, last " + std::to_string(window) +
                        " requests)",
                    "time since start (s)", "ms", {p50, p90, p99, e2e50}});
  const json samples = report.value("samples", json::array());
  charts.push_back({"KV cache and queues", "time since start (s)", "blocks / requests",
                    {SampleSeries(samples, "kv_blocks_used", "KV blocks used", "#9467bd"),
                     SampleSeries(samples, "kv_blocks_total", "KV blocks total", "#7f7f7f", true),
                     SampleSeries(samples, "running", "running", "#2ca02c"),
                     SampleSeries(samples, "waiting", "waiting", "#d62728")}});
  PlotSeries rss = SampleSeries(samples, "rss_mb", "server RSS", "#8c564b");
  if (!rss.points.empty()) {
    charts.push_back({"Server memory", "time since start (s)", "MiB", {rss}});
  }
  return RenderSvg("kvserve loadgen: " + report.value("scenario", std::string("?")), charts);
}

}  // namespace kvs::loadgen
