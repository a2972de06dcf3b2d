// PrefillWorker: the prefill engine's side of disaggregated serving. For a
// request it waits for the decode engine's kAlloc (which blocks the decode
// side already holds), computes prompt[0, n - 1) in chunks on its own
// BackendRunner and KV pool, and streams each layer's finished blocks to the
// decode engine while the next layers compute: the runner calls
// OnLayerKvStored after each layer's K/V write, which only queues
// (layer, block range) in a fixed ring; a sender thread gathers those blocks
// straight from the pool into Transport::Send. The last prompt token is not
// computed here: the decode engine computes it and draws the first sample,
// so greedy and seeded outputs continue exactly as colocated.
//
// Which blocks leave after a chunk: those it filled completely (a block the
// next chunk still writes is sent later, so the sender never reads a block
// being written), and on the last chunk the partial tail block; never the
// decode side's first n_skip_blocks. Blocks found in this engine's own
// prefix cache are queued for every layer before the first chunk.
//
// Ownership: borrows the runner (which must outlive the worker and serve no
// one else; the worker installs itself as its layer observer), owns the KV
// manager of that runner's pool, the transport and two threads (a reader for
// kAlloc/kFail, the sender), joined by the destructor. Block ownership: the
// request's blocks are held from AllocateSlots until the sender has finished
// with them (sent, or failed), then freed, on success and on every error.
// Thread-safety: Prefill and Stats from one thread at a time (the prefill
// engine's); the internal threads synchronise through mu_.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "disagg/transfer_stats.h"
#include "disagg/transport.h"
#include "disagg/wire.h"
#include "kv/kv_cache_manager.h"
#include "model/batch.h"
#include "runtime/backend_runner.h"

namespace kvs {

struct PrefillWorkerConfig {
  int max_chunk_tokens = 512;    // prompt tokens per forward pass
  int alloc_timeout_ms = 30000;  // how long to wait for the decode side's kAlloc
  bool enable_prefix_caching = true;
  int frame_stall_ms = 10000;  // as DecodeWorkerConfig::frame_stall_ms
  std::string name;            // sent in the hello: how the decode side knows this worker
  int ping_interval_ms = 1000;  // a kPing after this long with nothing sent
};

// A request the decode engine reserved and asked this worker to prefill.
struct PrefillJob {
  RequestId id = -1;
  std::vector<TokenId> prompt;
  std::string salt;
};

class PrefillWorker final : private LayerKvObserver {
 public:
  // Runs the handshake (wire.h) on `transport`; refuses a peer with another
  // model, layout or dtype.
  static StatusOr<std::unique_ptr<PrefillWorker>> Create(BackendRunner* runner,
                                                         const Fingerprint& model,
                                                         std::unique_ptr<Transport> transport,
                                                         const PrefillWorkerConfig& config);
  ~PrefillWorker() override;

  // The oldest reservation (kAlloc) not yet prefilled, waiting up to
  // timeout_ms for one: nullopt on timeout; an error once the link is down.
  // A server loop calls Prefill(job.id, job.prompt, job.salt) with it.
  StatusOr<std::optional<PrefillJob>> NextJob(int timeout_ms);

  // Computes and sends the KV of prompt[0, n - 1) for request `id`; returns
  // when every block has been sent (or the request failed: then the decode
  // side is told with kFail where the link still works). The prompt must be
  // the one the decode engine got for `id` (checked by hash).
  Status Prefill(RequestId id, std::span<const TokenId> prompt, const std::string& salt);

  TransferStats Stats() const;
  const KvCacheManager& kv() const { return kv_; }
  const std::string& peer_name() const { return peer_name_; }
  // False once the link has ended (the worker can then only be destroyed).
  bool link_ok() const;
  // Ends the connection (the decode side sees its imports fail).
  void Close() { transport_->Close(); }

 private:
  struct SendItem {
    enum Kind : uint8_t { kLayer, kDone, kFail } kind = kLayer;
    int layer = 0;
    int first = 0;  // request-relative block indices [first, end)
    int end = 0;
  };

  PrefillWorker(BackendRunner* runner, std::unique_ptr<Transport> transport, const KvLayout& layout,
                const PrefillWorkerConfig& config, std::string peer_name);
  void OnLayerKvStored(int layer) override;
  void Push(const SendItem& item);  // waits while the ring is full
  void ReaderLoop();
  void SenderLoop();
  Status SendLayer(const SendItem& item);
  // Queues kFail with `why` (or kDone when why is OK), waits for the sender
  // to finish the request and frees its blocks.
  Status FinishRequest(Status why);
  StatusOr<AllocMessage> WaitForAlloc(RequestId id);

  BackendRunner* const runner_;
  KvStorage& storage_;
  const std::unique_ptr<Transport> transport_;
  const KvLayout layout_;
  const PrefillWorkerConfig config_;
  const std::string peer_name_;
  KvCacheManager kv_;  // prefill-engine thread only
  Batch batch_;        // prefill-engine thread only

  // The request in flight, set before its first item is queued and not
  // changed until the sender reports it done.
  RequestId cur_id_ = -1;
  std::vector<BlockId> cur_table_;
  int send_first_ = 0;  // the chunk in compute: blocks to send after each layer
  int send_end_ = 0;
  std::string fail_reason_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::map<RequestId, AllocMessage> allocs_;     // guarded by mu_
  std::deque<RequestId> jobs_;                   // guarded by mu_: allocs_ in arrival order
  std::map<RequestId, std::string> peer_fails_;  // guarded by mu_
  Status conn_status_;                           // guarded by mu_: the reader's end
  std::vector<SendItem> ring_;                   // guarded by mu_: fixed capacity
  size_t ring_head_ = 0, ring_size_ = 0;         // guarded by mu_
  bool request_done_ = false;                    // guarded by mu_
  Status send_status_;                           // guarded by mu_: the request's send result
  bool stop_ = false;                            // guarded by mu_
  TransferStats stats_;                          // guarded by mu_
  std::atomic<bool> send_failed_{false};
  // steady_clock ticks when the request in flight finished computing; 0 while it computes.
  std::atomic<int64_t> compute_end_ns_{0};

  std::vector<ConstBuffer> parts_;  // sender thread: gathered frame
  std::thread reader_;
  std::thread sender_;
};

}  // namespace kvs
