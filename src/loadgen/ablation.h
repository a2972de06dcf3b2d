// Ablations: the same scenario, seed and load run against several server
// configurations (the server restarted with different flags each time),
// compared in one table from one invocation.
//
//   prefix-cache               on | off (--no-prefix-caching)
//   chunked-prefill[=B]        --max-batched-tokens B (default 64: long prompts
//                              are cut into chunks) | --no-chunked-prefill
//                              (prompts scheduled whole)
//   token-budget=A,B,...       --max-batched-tokens A, B, ...
//   block-size=A,B,...         --kv-block-size A, B, ...
//   kv-budget=A,B,...          --kv-cache-tokens A, B, ... (KV capacity in tokens)
//   disagg[=tcp|ucx]           colocated serve at 2 threads | at 1 thread |
//                              a prefill worker (1 thread) and a decode worker
//                              (1 thread) behind `kvserve router` (issue 18;
//                              --serve-args must not set --threads)
// The flags are those of `kvserve serve`.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/status.h"
#include "loadgen/bench_run.h"

namespace kvs::loadgen {

struct AblationVariant {
  std::string label;
  std::vector<std::string> server_args;
  bool disagg = false;  // ServeConfig::disagg with these worker flags
  std::vector<std::string> prefill_args;
  std::vector<std::string> decode_args;
  std::string kv_transport = "tcp";
};

// Parses "NAME" or "NAME=v1,v2": kInvalidArgument for an unknown name or a
// bad value list.
StatusOr<std::vector<AblationVariant>> ParseAblation(const std::string& spec);

// Runs every variant with `base` (which must start its own server: REQUIRES
// base.serve) and returns {"ablation", "variants": [{label, server_args,
// report}], "table"}; ratios against the first variant are added to each
// report under "vs_first".
StatusOr<nlohmann::json> RunAblation(const std::string& spec, const BenchConfig& base);

}  // namespace kvs::loadgen
