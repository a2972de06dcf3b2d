// ProxyCall: one generation request relayed by the router to a decode
// worker (naming the prefill worker that sends its prompt KV), on a thread
// of its own with a blocking HTTP client; the HTTP front end reads it
// through a DeferredBody that never blocks.
//
// Retries, before the client has seen a byte of the answer:
//  - the decode worker cannot be reached, answers 429 (full), or is lost
//    before the first output: another decode worker (every one full: the
//    last 429);
//  - the request failed on its way through the prefill worker (an error
//    status, or a stream whose first event is an error, from an "imported"
//    run): once more on the decode worker alone (colocated), no prefill
//    worker involved.
// A stream is held back until its first event with output (or its end), so
// that a retry never repeats bytes the client has. A decode worker lost
// after that ends the stream with an error event and [DONE] (a 502 when
// not streaming).
//
// Ownership: shared by the body and the thread (shared_ptr); borrows the
// pool and the stats, which outlive every call (RouterApp waits for them).
// Thread-safety: the DeferredBody side and the thread share mu_.
#pragma once

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>

#include "router/router_stats.h"
#include "router/worker_pool.h"
#include "server/admission.h"
#include "server/http_message.h"

namespace kvs::router {

struct ProxyRequest {
  std::string path;           // /v1/chat/completions or /v1/completions
  std::string body;           // forwarded as is
  std::string authorization;  // forwarded ("" when absent)
  bool stream = false;
  uint64_t prefix_key = 0;
  // /tokenize, /detokenize and /v1/embeddings: no prefill worker, and not
  // counted as generations in RouterStats.
  bool utility = false;
};

class ProxyCall : public std::enable_shared_from_this<ProxyCall> {
 public:
  // `slot` is held until both the body and the thread are done with the call.
  ProxyCall(ProxyRequest request, WorkerPool* pool, RouterStats* stats,
            std::unique_ptr<server::ConcurrencyLimiter::Slot> slot);
  // Starts the relaying thread (detached; it holds the call).
  void Start();
  std::shared_ptr<server::DeferredBody> MakeBody();

 private:
  class Body;
  enum class Outcome {
    kFinal,           // the client has its answer (or left)
    kUnreachable,     // no answer from the decode worker: another one
    kRetryColocated,  // failed through the prefill worker: again without one
    kBusy,            // the decode worker answered 429: another one
  };
  void Run();
  Outcome Attempt(const WorkerPool::Target& t);
  // Streaming: folds upstream bytes into events; releases held ones at the
  // first event with output. Returns false to cancel the transfer.
  bool OnStreamBytes(const char* data, size_t n);
  void Emit(std::string bytes, bool done);  // to the client, waking it
  void Fail(int status, const std::string& message);

  const ProxyRequest req_;
  WorkerPool* const pool_;
  RouterStats* const stats_;
  const std::unique_ptr<server::ConcurrencyLimiter::Slot> slot_;
  const std::chrono::steady_clock::time_point arrival_ = std::chrono::steady_clock::now();

  // Attempt state (the thread's only).
  int up_status_ = 0;
  std::string up_type_;
  std::string up_mode_;    // X-Kvs-Disagg of the answer
  std::string up_body_;    // a non-streamed (or error) answer
  std::string held_;       // streaming: bytes not yet released (the preamble)
  std::string done_tail_;  // streaming: the last bytes, where [DONE] is looked for
  bool released_ = false;  // streaming: the client has output
  bool first_is_error_ = false;
  bool saw_done_ = false;
  int busy_status_ = 0;  // the last 429, kept in case every worker is full
  std::string busy_type_;
  std::string busy_body_;

  std::mutex mu_;
  std::string out_;  // guarded by mu_: bytes for the client
  int status_ = 200;                                // guarded by mu_
  std::string content_type_ = "application/json";  // guarded by mu_
  bool done_ = false;                               // guarded by mu_
  bool cancelled_ = false;                          // guarded by mu_
  std::shared_ptr<StreamListener> waker_;           // guarded by mu_
  void* client_ = nullptr;  // guarded by mu_: the httplib::Client in use, to stop
};

}  // namespace kvs::router
