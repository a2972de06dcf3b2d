// RunBenchmark: one complete load-generator run: (optionally) start the
// server, learn its context and tokenizer, build the scenario, drive the
// load while sampling /metrics and RSS, and build the report.
//
// Bounded: the server gets `ready_timeout_s` to come up; the load is bounded
// by LoadOptions; a server this function started is always stopped.
// Thread-safety: one call per thread; calls are independent.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/status.h"
#include "loadgen/deployment.h"
#include "loadgen/load_runner.h"
#include "loadgen/scenario.h"

namespace kvs::loadgen {

struct BenchConfig {
  std::string url;                   // used when serve is empty
  std::optional<ServeConfig> serve;  // start our own server
  int server_pid = 0;                // RSS of an external server on this machine
  std::string api_key;               // default key for requests and /metrics
  ScenarioOptions scenario;          // max_model_len <= 0: ask /v1/models;
                                     // chars_per_token <= 0: calibrate
  LoadOptions load;
  double metrics_period_s = 0.5;
  double slo_ttft_ms = 1000;
  double slo_tpot_ms = 100;
  int kv_block_size = 16;  // for kv_efficiency when the server does not export it
};

StatusOr<nlohmann::json> RunBenchmark(const BenchConfig& config);

}  // namespace kvs::loadgen
