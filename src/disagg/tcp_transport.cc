#include "disagg/tcp_transport.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <thread>

namespace kvs {
namespace {

constexpr int kMaxIov = 64;  // parts per sendmsg call (IOV_MAX is 1024)

Status Errno(const std::string& what) { return IoError(what + ": " + std::strerror(errno)); }

StatusOr<sockaddr_in> Resolve(const std::string& host, int port) {
  if (port < 0 || port > 65535)
    return InvalidArgumentError("port out of range: " + std::to_string(port));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  const std::string h = host.empty() || host == "localhost" ? "127.0.0.1" : host;
  if (inet_pton(AF_INET, h.c_str(), &addr.sin_addr) != 1) {
    return InvalidArgumentError("not an IPv4 address: " + host);
  }
  return addr;
}

}  // namespace

TcpTransport::TcpTransport(int fd) : fd_(fd) {
  int one = 1;
  setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

TcpTransport::~TcpTransport() {
  Close();
  ::close(fd_);
}

void TcpTransport::Close() {
  if (!closed_.exchange(true)) ::shutdown(fd_, SHUT_RDWR);
}

Status TcpTransport::Send(std::span<const ConstBuffer> parts) {
  iovec iov[kMaxIov];
  size_t next = 0;    // first part not fully sent
  size_t offset = 0;  // bytes of parts[next] already sent
  while (next < parts.size()) {
    if (closed_.load(std::memory_order_relaxed)) return CancelledError("transport closed");
    int n_iov = 0;
    for (size_t i = next; i < parts.size() && n_iov < kMaxIov; ++i) {
      const size_t skip = i == next ? offset : 0;
      if (parts[i].size == skip) continue;
      iov[n_iov].iov_base = const_cast<char*>(static_cast<const char*>(parts[i].data) + skip);
      iov[n_iov].iov_len = parts[i].size - skip;
      ++n_iov;
    }
    if (n_iov == 0) break;
    msghdr msg{};
    msg.msg_iov = iov;
    msg.msg_iovlen = n_iov;
    const ssize_t sent = ::sendmsg(fd_, &msg, MSG_NOSIGNAL);
    if (sent < 0) {
      if (errno == EINTR) continue;
      return Errno("send to peer");
    }
    size_t left = static_cast<size_t>(sent);
    while (next < parts.size() && left >= parts[next].size - offset) {
      left -= parts[next].size - offset;
      offset = 0;
      ++next;
    }
    offset += left;
  }
  return Status::Ok();
}

Status TcpTransport::ReceiveWithin(void* dst, size_t n, int timeout_ms) {
  char* p = static_cast<char*>(dst);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (n > 0) {
    if (closed_.load(std::memory_order_relaxed)) return CancelledError("transport closed");
    if (timeout_ms >= 0) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      pollfd pfd{fd_, POLLIN, 0};
      const int r = ::poll(&pfd, 1, std::max<int>(0, int(left.count())));
      if (r < 0 && errno == EINTR) continue;
      if (r == 0) {
        return UnavailableError("peer sent nothing for " + std::to_string(timeout_ms) + " ms");
      }
    }
    const ssize_t got = ::recv(fd_, p, n, 0);
    if (got == 0) return UnavailableError("peer closed the connection");
    if (got < 0) {
      if (errno == EINTR) continue;
      return Errno("receive from peer");
    }
    p += got;
    n -= static_cast<size_t>(got);
  }
  return Status::Ok();
}

StatusOr<std::unique_ptr<Transport>> TcpTransport::Connect(const std::string& host, int port,
                                                           int timeout_ms) {
  KVS_ASSIGN_OR_RETURN(sockaddr_in addr, Resolve(host, port));
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (true) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return Errno("socket");
    if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) == 0) {
      return std::unique_ptr<Transport>(new TcpTransport(fd));
    }
    const int err = errno;
    ::close(fd);
    if (std::chrono::steady_clock::now() >= deadline) {
      return UnavailableError("cannot connect to " + host + ":" + std::to_string(port) + ": " +
                              std::strerror(err));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

StatusOr<std::unique_ptr<TransportListener>> TcpListener::Create(const std::string& host,
                                                                 int port) {
  KVS_ASSIGN_OR_RETURN(sockaddr_in addr, Resolve(host, port));
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return Errno("socket");
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (::bind(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) != 0 ||
      ::listen(fd, 16) != 0) {
    Status s = Errno("listen on " + host + ":" + std::to_string(port));
    ::close(fd);
    return s;
  }
  socklen_t len = sizeof(addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  return std::unique_ptr<TransportListener>(new TcpListener(fd, ntohs(addr.sin_port)));
}

TcpListener::~TcpListener() { ::close(fd_); }

StatusOr<std::unique_ptr<Transport>> TcpListener::Accept(int timeout_ms) {
  pollfd pfd{fd_, POLLIN, 0};
  const int r = ::poll(&pfd, 1, timeout_ms);
  if (r < 0) return Errno("poll");
  if (r == 0)
    return UnavailableError("no engine connected within " + std::to_string(timeout_ms) + " ms");
  const int fd = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
  if (fd < 0) return Errno("accept");
  return std::unique_ptr<Transport>(new TcpTransport(fd));
}

}  // namespace kvs
