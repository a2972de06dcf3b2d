// Transport: a connected, reliable, ordered byte stream between a prefill
// engine and a decode engine, behind which sit plain TCP (tcp_transport.h)
// and UCX (ucx_transport.h). The KV wire protocol (wire.h) frames messages
// on it; payloads go from and into the KV pools without a staging copy
// (Send gathers from the blocks, Receive writes into one block at a time).
//
// Thread-safety: one thread may Send while another Receives; Close may be
// called from any thread, at any time, and makes every blocked and later
// Send/Receive return an error. Ownership: each object owns its connection.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "base/status.h"

namespace kvs {

struct ConstBuffer {
  const void* data;
  size_t size;
};

enum class TransportKind { kTcp, kUcx };
const char* TransportKindName(TransportKind kind);
StatusOr<TransportKind> ParseTransportKind(const std::string& name);  // "tcp" | "ucx"

class Transport {
 public:
  virtual ~Transport() = default;
  // Sends every part, in order, or fails (the peer closed, the link broke,
  // or Close was called). REQUIRES: one sender at a time.
  virtual Status Send(std::span<const ConstBuffer> parts) = 0;
  // Receives exactly n bytes into dst, or fails (end of stream included).
  // REQUIRES: one receiver at a time.
  Status Receive(void* dst, size_t n) { return ReceiveWithin(dst, n, -1); }
  // The same, failing with kDeadlineExceeded-like UnavailableError when the
  // n bytes have not all arrived within timeout_ms (-1: no limit). After
  // such a failure the stream is out of step: the caller must drop the link.
  // For the bytes inside a frame, whose sender wrote the whole frame at
  // once: a peer that vanished without a word (no reset, no close) is
  // noticed there.
  virtual Status ReceiveWithin(void* dst, size_t n, int timeout_ms) = 0;
  // Ends the connection; the peer's Send/Receive then fail. Idempotent.
  virtual void Close() = 0;
  virtual TransportKind kind() const = 0;
};

// Listens on host:port (port 0: any free port) for one engine to connect.
class TransportListener {
 public:
  virtual ~TransportListener() = default;
  virtual int port() const = 0;
  // Waits up to timeout_ms for the next connection.
  virtual StatusOr<std::unique_ptr<Transport>> Accept(int timeout_ms) = 0;
};

StatusOr<std::unique_ptr<TransportListener>> ListenTransport(TransportKind kind,
                                                             const std::string& host, int port);
// Connects, retrying until timeout_ms passes (the listener may still be starting).
StatusOr<std::unique_ptr<Transport>> ConnectTransport(TransportKind kind, const std::string& host,
                                                      int port, int timeout_ms);

}  // namespace kvs
