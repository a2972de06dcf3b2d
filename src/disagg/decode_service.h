// DecodeService: the decode worker's side of `kvserve serve --role decode`.
// Listens for prefill workers on a KV port, pairs with each (the handshake
// refuses another model file, KV layout or dtype), and keeps one
// DecodeWorker per prefill worker, by the name that worker sent. As the
// engine's ImportHub it takes requests that name their prefill worker
// (EngineLoop::SubmitImport) and hands each to that worker's link.
//
// A prefill worker that reconnects under the same name replaces its old
// link (whose pending requests end with an error); a link that ended is
// dropped once its requests have ended. Connections that fail the
// handshake are refused and the reason kept for /kvs/info.
//
// Ownership: borrows the KV storage (the engine's runner's pool) and, once
// attached, the engine; owns the listener, its accept thread and the
// workers. Thread-safety: the ImportHub methods on the engine thread;
// Links, Totals and port from any thread. Nothing here allocates on an
// engine step (Links and Totals build their answers on the reader's thread).
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "disagg/decode_worker.h"
#include "disagg/transport.h"
#include "engine/import_hub.h"

namespace kvs {

struct DecodeServiceConfig {
  TransportKind transport = TransportKind::kTcp;
  std::string host = "127.0.0.1";
  int port = 0;       // 0: any free port
  std::string name;   // this worker's name, sent in the hello
  int frame_stall_ms = 10000;
};

struct KvLinkInfo {
  std::string peer;  // the other worker's name (or address, before it connects)
  bool connected = false;
  std::string error;  // why the last attempt or link ended, if it did
  TransferStats stats;
  // Prefill side: the link's pool blocks held by requests (not the prefix
  // cache's free ones), as of its last finished prefill; 0 between requests
  // unless a block leaked.
  int64_t kv_blocks_used = 0;
};

class DecodeService final : public ImportHub {
 public:
  static StatusOr<std::unique_ptr<DecodeService>> Create(const DecodeServiceConfig& config,
                                                         const Fingerprint& model,
                                                         const ModelConfig& model_config,
                                                         KvStorage* storage);
  ~DecodeService() override;

  int port() const { return listener_->port(); }
  // The links, as of now.
  std::vector<KvLinkInfo> Links() const;
  // Why the latest connection was refused ("" if none was).
  std::string LastRefusal() const;
  // Every link's counters, the ended ones' included.
  TransferStats Totals() const;

  // ImportHub.
  void Attach(Engine* engine, std::function<void()> wake) override;
  Status Submit(const std::string& source, RequestId id, GenerationRequest request,
                std::shared_ptr<OutputStream> stream) override;
  bool AbortIfPending(RequestId id) override;
  void Poll() override;
  bool HasPending() const override;
  void Detach() override;

 private:
  DecodeService(const DecodeServiceConfig& config, const Fingerprint& model,
                const ModelConfig& model_config, KvStorage* storage,
                std::unique_ptr<TransportListener> listener);
  void AcceptLoop();
  void StopAccepting();

  const DecodeServiceConfig config_;
  const Fingerprint model_;
  const ModelConfig model_config_;
  KvStorage* const storage_;
  const std::unique_ptr<TransportListener> listener_;
  Engine* engine_ = nullptr;
  std::function<void()> wake_;

  mutable std::mutex mu_;
  // The links by peer name: used by the engine thread, which changes the
  // map only under mu_ (so Links and Totals read it under mu_ from any
  // thread, and the engine thread reads it without the lock).
  std::map<std::string, std::unique_ptr<DecodeWorker>> workers_;
  TransferStats retired_;                                // guarded by mu_: dropped links' counters
  std::vector<std::unique_ptr<DecodeWorker>> incoming_;  // guarded by mu_: paired, not yet used
  std::string last_refusal_;                             // guarded by mu_: the latest failed pairing
  std::atomic<bool> stop_{false};
  std::thread acceptor_;
};

}  // namespace kvs
