// PrefillService: the prefill worker of `kvserve serve --role prefill`.
// Connects to every decode worker it is given (retrying while one is down
// or restarting), and on each link prefills what that decode worker
// reserves (PrefillWorker::NextJob), streaming the KV layer by layer.
//
// One runner per link: PrefillWorker owns its runner's layer observer and
// KV manager, so links share the model's weights, not a KV pool (each pool
// is sized for one prompt's blocks plus its prefix cache). Prefills run one
// at a time across all links (compute_mu_): the threads of one runner use
// the machine's cores.
//
// Ownership: borrows the model (must outlive the service); owns the runners,
// the workers and one thread per link, joined by Stop / the destructor.
// Thread-safety: Links and Stop from any thread.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "disagg/decode_service.h"
#include "disagg/prefill_worker.h"
#include "model/model.h"
#include "runtime/backend_runner.h"

namespace kvs {

struct PrefillServiceConfig {
  TransportKind transport = TransportKind::kTcp;
  std::vector<std::string> peers;  // decode workers' KV addresses, "host:port"
  PrefillWorkerConfig worker;      // worker.name: this worker's name
  RunnerConfig runner;
  int retry_ms = 500;  // between attempts to reach a decode worker
};

class PrefillService {
 public:
  static StatusOr<std::unique_ptr<PrefillService>> Create(const Model* model,
                                                          const Fingerprint& fingerprint,
                                                          const PrefillServiceConfig& config);
  ~PrefillService();

  // One entry per configured peer: its decode worker's name once paired.
  std::vector<KvLinkInfo> Links() const;
  TransferStats Totals() const;
  void Stop();

 private:
  struct Link {
    std::string address;
    std::string host;
    int port = 0;
    std::unique_ptr<BackendRunner> runner;
    std::thread thread;
    // Guarded by PrefillService::mu_.
    PrefillWorker* worker = nullptr;
    std::string peer;
    std::string error;
    TransferStats retired;  // counters of this link's ended connections
    int64_t kv_blocks_used = 0;
  };

  PrefillService(const Fingerprint& fingerprint, const PrefillServiceConfig& config);
  void Run(Link* link);
  void SetError(Link* link, const Status& s);

  const Fingerprint fingerprint_;
  const PrefillServiceConfig config_;
  std::vector<std::unique_ptr<Link>> links_;
  std::mutex compute_mu_;  // one prefill at a time
  mutable std::mutex mu_;  // the links' worker, peer, error, retired
  std::atomic<bool> stop_{false};
};

}  // namespace kvs
