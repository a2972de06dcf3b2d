// The --plot picture of a report: latency percentiles and KV usage (and the
// server's RSS when sampled) over the run, as one SVG.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace kvs::loadgen {

// Rolling window: percentiles at each request's completion are over the
// last `window` completed requests.
std::string PlotReport(const nlohmann::json& report, int window = 16);

}  // namespace kvs::loadgen
