// TcpTransport: Transport over a POSIX TCP socket (TCP_NODELAY; Send is one
// sendmsg loop over the gathered parts, Receive a recv loop). Close shuts
// the socket down, which wakes a blocked recv or send on either side.
#pragma once

#include <atomic>
#include <memory>
#include <string>

#include "disagg/transport.h"

namespace kvs {

class TcpTransport final : public Transport {
 public:
  // Takes ownership of a connected socket.
  explicit TcpTransport(int fd);
  ~TcpTransport() override;
  Status Send(std::span<const ConstBuffer> parts) override;
  Status ReceiveWithin(void* dst, size_t n, int timeout_ms) override;
  void Close() override;
  TransportKind kind() const override { return TransportKind::kTcp; }

  static StatusOr<std::unique_ptr<Transport>> Connect(const std::string& host, int port,
                                                      int timeout_ms);

 private:
  const int fd_;
  std::atomic<bool> closed_{false};
};

class TcpListener final : public TransportListener {
 public:
  static StatusOr<std::unique_ptr<TransportListener>> Create(const std::string& host, int port);
  ~TcpListener() override;
  int port() const override { return port_; }
  StatusOr<std::unique_ptr<Transport>> Accept(int timeout_ms) override;

 private:
  TcpListener(int fd, int port) : fd_(fd), port_(port) {}
  const int fd_;
  const int port_;
};

}  // namespace kvs
