// ImportHub: what feeds requests' prompt KV into an engine from elsewhere
// (disaggregated decoding: src/disagg/decode_service.h). EngineLoop calls
// it on the engine thread, so an implementation touches the Engine only
// there; the loop's Wake tells the thread to Poll when the hub's own
// threads have news (a transfer landed, a link ended).
//
// Thread-safety: every method on the engine thread, unless noted.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "base/status.h"
#include "engine/engine.h"

namespace kvs {

class ImportHub {
 public:
  virtual ~ImportHub() = default;
  // Once, before the engine thread starts (on the creating thread): the
  // engine to import into and how to wake its thread (callable from any
  // thread, never blocks).
  virtual void Attach(Engine* engine, std::function<void()> wake) = 0;
  // Queues request `id`, whose prompt KV comes from `source` (a prefill
  // worker's name). Errors end the request at once (nothing queued).
  virtual Status Submit(const std::string& source, RequestId id, GenerationRequest request,
                        std::shared_ptr<OutputStream> stream) = 0;
  // Aborts `id` if it is still waiting for or receiving its KV; false for
  // any other id (the engine's own then).
  virtual bool AbortIfPending(RequestId id) = 0;
  // Between steps: admits, commits and cancels imports.
  virtual void Poll() = 0;
  // Requests waiting for blocks or KV: the loop polls at least every few
  // milliseconds while this is true.
  virtual bool HasPending() const = 0;
  // On the engine thread as it stops: ends every pending request.
  virtual void Detach() = 0;
};

}  // namespace kvs
