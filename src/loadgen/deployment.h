// Deployment: the server processes a benchmark run starts for itself: one
// `kvserve serve`, or a disaggregated prefill worker, decode worker and
// `kvserve router` in front of them (the load then goes to the router).
//
// Ownership: owns the processes; Finish (or the destructor) stops them.
// Thread-safety: none; one thread.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/status.h"
#include "loadgen/endpoint.h"
#include "loadgen/server_process.h"

namespace kvs::loadgen {

// A `kvserve serve` that the run starts on a free loopback port.
struct ServeConfig {
  std::string binary;     // path of kvserve
  std::string model;      // -m
  std::string tokenizer;  // --tokenizer, "" for none
  std::vector<std::string> api_keys;    // each passed as --api-key
  std::vector<std::string> extra_args;  // appended as given (the ablation flags)
  std::string log_path = "/tmp/kvserve-loadgen-server.log";
  double ready_timeout_s = 60;
  // Disaggregated: a decode worker (extra_args + decode_args) and a prefill
  // worker (extra_args + prefill_args) paired over the KV port, and a router.
  bool disagg = false;
  std::vector<std::string> prefill_args;
  std::vector<std::string> decode_args;
  std::string kv_transport = "tcp";
};

class Deployment {
 public:
  static StatusOr<std::unique_ptr<Deployment>> Start(const ServeConfig& config,
                                                     const std::string& api_key);
  ~Deployment();

  const Endpoint& endpoint() const { return endpoint_; }
  int pid() const;  // the serving process (serve, or the decode worker): its RSS is sampled
  // Stops every process. Returns {"server_crashed", "server_exit"} and, when
  // disaggregated, "kv_transfer": the prefill worker's transfer figures
  // (bytes, blocks, send and exposed seconds, hidden ratio, per layer).
  nlohmann::json Finish();

 private:
  explicit Deployment(ServeConfig config) : config_(std::move(config)) {}
  Status StartColocated(const std::string& api_key);
  Status StartDisagg(const std::string& api_key);
  // Starts kvserve `args` (log: log_path + suffix) and waits for `ready` to answer.
  StatusOr<std::unique_ptr<ServerProcess>> Launch(std::vector<std::string> args,
                                                  const std::string& log_suffix,
                                                  const Endpoint& ready);
  std::vector<std::string> ServeArgs(int port) const;

  const ServeConfig config_;
  Endpoint endpoint_;
  std::unique_ptr<ServerProcess> serve_;  // serve, or the decode worker
  std::unique_ptr<ServerProcess> prefill_;
  std::unique_ptr<ServerProcess> router_;
  Endpoint prefill_at_;
  bool finished_ = false;
};

}  // namespace kvs::loadgen
