// WorkerPool: the router's view of its prefill and decode workers. A probe
// thread reads each worker's GET /kvs/info every probe_interval_ms (its
// name, and for a decode worker its live KV links and queue); a worker that
// does not answer is down until it does again. Acquire places a request
// (placement.h) and counts it in flight until Release.
//
// Ownership: owns the probe thread (joined by the destructor).
// Thread-safety: every method from any thread (one mutex).
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "base/status.h"
#include "router/placement.h"

namespace kvs::router {

struct WorkerPoolConfig {
  std::vector<std::string> prefill_urls;  // http://host:port
  std::vector<std::string> decode_urls;
  int probe_interval_ms = 1000;
  int probe_timeout_ms = 1000;
  std::string probe_api_key;  // sent to /kvs/info when the workers want a key
};

struct Upstream {
  std::string url;
  std::string host;
  int port = 0;
};

// "http://host:port" (a trailing slash allowed) into host and port.
StatusOr<Upstream> ParseWorkerUrl(const std::string& url);

class WorkerPool {
 public:
  static StatusOr<std::unique_ptr<WorkerPool>> Create(const WorkerPoolConfig& config);
  ~WorkerPool();

  struct Target {
    int decode = -1;
    int prefill = -1;  // -1: colocated on the decode worker
    Upstream decode_at;
    std::string prefill_name;
  };
  // Places a request: decode workers in exclude_decode and prefill workers
  // in exclude_prefill are skipped; colocated: no prefill worker. nullopt
  // when no decode worker is up.
  std::optional<Target> Acquire(uint64_t key, const std::vector<int>& exclude_decode,
                                const std::vector<int>& exclude_prefill, bool colocated);
  void Release(const Target& t);
  // A connection to the worker failed: down until a probe answers.
  void MarkDecodeDown(int decode);

  bool AnyDecodeUp() const;
  int n_decode() const { return static_cast<int>(decode_.size()); }  // fixed after Create
  // The decode workers' GET /v1/models answer (the latest probed).
  std::string ModelsJson() const;
  nlohmann::json Info() const;
  std::string MetricsText() const;
  // Probes every worker now (tests, and before serving).
  void ProbeAll();

 private:
  struct Worker {
    Upstream at;
    WorkerView view;
    int64_t in_flight = 0;
    int64_t queued = 0;  // what the worker reports waiting
    int64_t requests = 0;
    std::string error;
    std::string models;  // decode: its GET /v1/models body
  };
  explicit WorkerPool(const WorkerPoolConfig& config) : config_(config) {}
  void ProbeLoop();
  void Probe(Worker* w, bool decode);

  const WorkerPoolConfig config_;
  mutable std::mutex mu_;
  std::vector<Worker> prefill_;  // guarded by mu_
  std::vector<Worker> decode_;   // guarded by mu_
  std::string models_json_;      // guarded by mu_
  std::mutex probe_mu_;          // one probe round at a time
  std::condition_variable stop_cv_;
  bool stop_ = false;  // guarded by mu_
  std::thread prober_;
};

}  // namespace kvs::router
