// OutputStream: a request's results, written by the engine thread and read
// by one consumer thread. Thread-safe.
#pragma once

#include <chrono>
#include <optional>

#include "engine/request_types.h"

namespace kvs {

class OutputStream {
 public:
  RequestId id() const;

  // Waits up to `timeout` for the next delta (coalescing what has queued up:
  // tokens and text concatenated). nullopt on timeout. After the finished
  // delta has been returned, returns nullopt at once.
  std::optional<StreamDelta> Next(std::chrono::milliseconds timeout);

  // Consumer side: reads every delta until finished and returns them merged.
  StreamDelta WaitAll();

 private:
  // (implementation)
};

}  // namespace kvs
