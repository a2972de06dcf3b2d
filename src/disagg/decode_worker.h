// DecodeWorker: the decode engine's side of disaggregated serving. A request
// submitted here waits until the engine can reserve its blocks
// (Engine::ReserveImport: prefix-cache hits plus fresh blocks for
// prompt[0, n - 1)); then the worker tells the prefill engine (kAlloc) how
// many leading blocks it already holds, a reader thread receives each
// kLayer frame straight into the reserved blocks of this engine's pool, and
// on kDone with every (block, layer) present the request is committed and
// decodes from its last prompt token on the next step.
//
// Block ownership: reserved blocks belong to the engine's KV manager from
// ReserveImport on (the request's sequence holds them); only the reader
// thread writes them, and only while the import is in the receiving state
// and marked `writing`. Poll (engine thread) commits a landed import, or
// cancels a failed one (kFail from the prefill engine, a short transfer, a
// protocol error, a lost link, Abort): CancelImport frees every block and
// ends the stream with the error. An import is never freed while the
// reader is writing into it.
//
// Ownership: borrows the engine and its runner's KvStorage (both must
// outlive the worker); owns the transport and the reader thread (joined by
// the destructor). Thread-safety: Submit, Abort, Poll, Stats and
// HasPending on the engine's thread only; the reader shares mu_ with them.
#pragma once

#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "backend/kv_storage.h"
#include "disagg/transfer_stats.h"
#include "disagg/transport.h"
#include "disagg/wire.h"
#include "engine/engine.h"
#include "model/model_config.h"

namespace kvs {

struct DecodeWorkerConfig {
  // A frame's sender writes it whole: bytes of a frame that stop coming for
  // this long mean the link is gone (a peer that vanished without a reset).
  int frame_stall_ms = 10000;
  // With imports in flight, a prefill peer silent this long (it pings every
  // second when it has nothing else to send) is gone: the link ends and its
  // imports fail, rather than wait for ever on a peer that vanished without
  // a reset (a machine lost, a partition).
  int peer_silence_ms = 10000;
  std::string name;  // sent in the hello
  // Called by the reader thread when an import landed or failed or the link
  // ended: the engine thread should Poll soon. Must not block; called
  // without the worker's lock held.
  std::function<void()> on_event;
};

class DecodeWorker {
 public:
  // Runs the handshake on `transport`; refuses a peer with another model,
  // layout or dtype. `storage` is the pool the engine's runner reads.
  static StatusOr<std::unique_ptr<DecodeWorker>> Create(
      Engine* engine, KvStorage* storage, const ModelConfig& config, const Fingerprint& model,
      std::unique_ptr<Transport> transport, const DecodeWorkerConfig& worker_config = {});
  ~DecodeWorker();

  // Queues a request whose prompt KV the prefill engine will send under the
  // same id. Errors: invalid request (Engine::Validate's checks), duplicate
  // id, or the link is down.
  Status Submit(RequestId id, GenerationRequest request, std::shared_ptr<OutputStream> stream);
  // Ends a request still waiting or importing (kAbort); otherwise
  // Engine::Abort. Use this rather than Engine::Abort for ids submitted here.
  void Abort(RequestId id);
  // Abort for a request still waiting or importing here; false (nothing
  // done) for any other id.
  bool AbortIfPending(RequestId id);
  // Between engine steps: reserves waiting requests that now fit, commits
  // landed transfers, cancels failed ones.
  void Poll();
  bool HasPending() const { return !waiting_.empty() || n_imports_ > 0; }
  TransferStats Stats() const;
  const std::string& peer_name() const { return peer_name_; }
  // False once the link has ended.
  bool link_ok() const;
  // Ends the connection (the prefill side sees its sends fail).
  void Close() { transport_->Close(); }

 private:
  struct Waiting {
    RequestId id;
    GenerationRequest request;
    std::shared_ptr<OutputStream> stream;
    std::chrono::steady_clock::time_point submitted;
  };
  struct Import {
    std::vector<BlockId> blocks;  // the request's block table for prompt[0, n - 1)
    int n_skip = 0;               // leading blocks the prefix cache supplied
    int64_t expected = 0;         // (block, layer) pairs to receive
    int64_t received = 0;
    bool writing = false;  // the reader is writing into blocks
    bool cancel = false;   // Abort: cancel once not writing
    bool landed = false;   // kDone with everything received
    Status error;          // failed
    std::shared_ptr<OutputStream> stream;
    std::chrono::steady_clock::time_point submitted_at, reserved_at, landed_at;
  };

  DecodeWorker(Engine* engine, KvStorage* storage, std::unique_ptr<Transport> transport,
               const KvLayout& layout, const DecodeWorkerConfig& config, std::string peer_name);
  void Notify() {
    if (config_.on_event) config_.on_event();
  }
  void ReaderLoop();
  // Receives one kLayer frame's payload (header already read).
  Status ReceiveLayer(const FrameHeader& h);
  Status Discard(uint64_t n);
  static void EndStream(OutputStream& stream, FinishReason reason, Status error);

  Engine* const engine_;
  KvStorage* const storage_;
  const std::unique_ptr<Transport> transport_;
  const KvLayout layout_;
  const DecodeWorkerConfig config_;
  const std::string peer_name_;
  std::deque<Waiting> waiting_;  // engine thread
  int n_imports_ = 0;            // engine thread: imports_.size()

  mutable std::mutex mu_;
  std::unordered_map<RequestId, Import> imports_;  // guarded by mu_ (node-based: stable)
  Status conn_status_;                             // guarded by mu_: set when the link ends
  // kFail for requests not reserved yet, by id (bounded: ids the prefill
  // side fails that never reach this engine must not grow it forever).
  static constexpr size_t kMaxEarlyFails = 4096;
  std::unordered_map<RequestId, std::string> early_fails_;  // guarded by mu_
  TransferStats stats_;                                     // guarded by mu_
  std::vector<uint8_t> scratch_;                            // reader: payloads of unknown requests
  std::thread reader_;
};

}  // namespace kvs
