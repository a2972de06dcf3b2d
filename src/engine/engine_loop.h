// EngineLoop: the engine thread and its mailbox.
//
// One thread owns the scheduler, KV manager, model runner and all request
// state; other threads Submit and Abort through a mailbox and read results
// from each request's OutputStream. Thread-safety: every public method is
// safe to call from any thread. Ownership: EngineLoop owns its thread and
// joins it in Shutdown() / the destructor; finished streams stay readable.
#pragma once

#include <memory>
#include <vector>

#include "base/status.h"
#include "engine/engine_config.h"
#include "engine/import_hub.h"
#include "engine/kv_snapshot.h"
#include "engine/output_stream.h"
#include "engine/request_types.h"
#include "kv/kv_events.h"
#include "runtime/model_runner.h"
#include "tokenizer/tokenizer.h"

namespace kvs {

class EngineLoop {
 public:
  // tokenizer is borrowed and must outlive the loop. kv_events (may be
  // null) is borrowed too: it gets an AllBlocksCleared batch at once, then
  // after each step that stored or evicted prefix-cache blocks the step's
  // events (kv/kv_events.h), from the engine thread.
  // imports (may be null) is borrowed as well: the loop attaches it to the
  // engine and polls it between steps (SubmitImport).
  static StatusOr<std::unique_ptr<EngineLoop>> Create(std::unique_ptr<ModelRunner> runner,
                                                      const Tokenizer* tokenizer,
                                                      const EngineConfig& config,
                                                      KvEventSink* kv_events = nullptr,
                                                      ImportHub* imports = nullptr);
  ~EngineLoop();

  // Queues a request. Errors (returned at once, nothing queued): an empty
  // prompt, a prompt + max_tokens beyond the context, a request that could
  // never fit in KV memory even alone, a full waiting queue.
  // REQUIRES: request.n == 1 (an error otherwise).
  StatusOr<std::shared_ptr<OutputStream>> Submit(GenerationRequest request);
  // The same for request.n choices (request.h: they share the prompt's
  // blocks): stream i carries choice i; Abort each stream's id() to abort
  // every choice. The n choices count as one request in the waiting queue.
  StatusOr<std::vector<std::shared_ptr<OutputStream>>> SubmitChoices(GenerationRequest request);

  // A request whose prompt KV the prefill worker `source` computes and sends
  // (disaggregated decoding): queued through the ImportHub, which admits it
  // once its blocks are free and starts it when its KV has landed. Errors as
  // Submit's, and FailedPrecondition without a hub. One choice only.
  StatusOr<std::shared_ptr<OutputStream>> SubmitImport(const std::string& source,
                                                       GenerationRequest request);
  // Whether this loop has an ImportHub (SubmitImport can work).
  bool takes_imports() const;

  // Aborts a request; honoured within one step; its blocks are freed and its
  // stream ends with FinishReason::kAbort. Unknown or finished ids: no-op.
  void Abort(RequestId id);

  EngineStats Stats() const;

  // The latest KvSnapshot the engine thread published: at most every
  // config.kv_snapshot_interval_ms while busy, and whenever it goes idle, so
  // an idle engine's snapshot is current. The engine thread fills a buffer
  // of its own outside the lock and swaps it in (no allocation per step
  // once both buffers are sized); this copy is made under the lock.
  KvSnapshot Snapshot() const;

  // Ends in-flight requests with kAbort and joins the thread. Idempotent.
  void Shutdown();

 private:
  struct Impl;  // engine_loop.cc: the thread, the mailbox and the Engine
  explicit EngineLoop(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace kvs
