// OutputStream: a request's results, written by the engine thread and read
// by one consumer thread. Thread-safe.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <memory>
#include <optional>

#include "engine/request_types.h"

namespace kvs {

// Told when a stream has something new, for consumers that wait without a
// thread of their own (the HTTP front end's event loop). OnPush runs on the
// producer's thread (the engine's) right after a Push: it must be quick and
// must not call back into the stream.
class StreamListener {
 public:
  virtual ~StreamListener() = default;
  virtual void OnPush() = 0;
};

// Where a disaggregated request's time to first token went before its
// first decode step (set by the decode worker when its KV has landed).
struct ImportTiming {
  double queue_s = 0;     // waiting for KV blocks on the decode side
  double transfer_s = 0;  // reservation to the last KV frame: prefill queue, compute, transfer
  std::chrono::steady_clock::time_point landed;  // the first decode step starts after this
};

class OutputStream {
 public:
  explicit OutputStream(RequestId id) : id_(id) {}
  OutputStream(const OutputStream&) = delete;
  OutputStream& operator=(const OutputStream&) = delete;

  RequestId id() const;

  // Producer side (the engine thread): queues a delta, merged with whatever
  // the consumer has not read yet. Nothing may be pushed after a delta with
  // finished = true (checked).
  void Push(StreamDelta delta);
  // True once the finished delta has been pushed (it may not be read yet).
  bool finished() const;

  // Waits up to `timeout` for the next delta (coalescing what has queued up:
  // tokens and text concatenated). nullopt on timeout. After the finished
  // delta has been returned, returns nullopt at once.
  std::optional<StreamDelta> Next(std::chrono::milliseconds timeout);

  // Consumer side: reads every delta until finished and returns them merged.
  StreamDelta WaitAll();

  // Consumer side: `listener` (may be null) is told of every later Push.
  // Holding a shared_ptr, the stream keeps it alive while it is set.
  void SetListener(std::shared_ptr<StreamListener> listener);

  // Disaggregated requests only; any thread.
  void SetImportTiming(const ImportTiming& t);
  std::optional<ImportTiming> import_timing() const;

 private:
  const RequestId id_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  StreamDelta pending_;        // guarded by mu_: merged deltas not yet read
  bool has_pending_ = false;   // guarded by mu_
  bool pushed_finished_ = false;    // guarded by mu_
  bool returned_finished_ = false;  // guarded by mu_
  std::shared_ptr<StreamListener> listener_;  // guarded by mu_
  std::optional<ImportTiming> import_timing_;  // guarded by mu_
};

}  // namespace kvs
