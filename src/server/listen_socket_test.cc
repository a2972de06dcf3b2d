#include "server/listen_socket.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <vector>

namespace kvs::server {
namespace {

// A loopback TCP socket with SetListenSocketOptions, bound to `port` (0: any).
int BoundSocket(uint16_t port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  EXPECT_GE(fd, 0);
  SetListenSocketOptions(fd);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port);
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

uint16_t PortOf(int fd) {
  sockaddr_in addr{};
  socklen_t len = sizeof(addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  return ntohs(addr.sin_port);
}

int SoMaxConn() {
  std::ifstream f("/proc/sys/net/core/somaxconn");
  int v = 0;
  f >> v;
  return v;
}

// Opens `n` non-blocking connections to `port` at once, waits up to
// `wait_ms` for them, and returns how many completed the handshake. Nothing
// ever accepts them, so only the accept queue decides.
int ConnectBurst(uint16_t port, int n, int wait_ms) {
  std::vector<pollfd> fds;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port);
  for (int i = 0; i < n; ++i) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
    fds.push_back({fd, POLLOUT, 0});
  }
  int connected = 0;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(wait_ms);
  while (connected < n) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) break;
    if (poll(fds.data(), fds.size(), static_cast<int>(left.count())) <= 0) break;
    for (pollfd& p : fds) {
      if (p.fd < 0 || p.revents == 0) continue;
      int err = 0;
      socklen_t len = sizeof(err);
      getsockopt(p.fd, SOL_SOCKET, SO_ERROR, &err, &len);
      if (err == 0 && (p.revents & POLLOUT)) ++connected;
      close(p.fd);
      p.fd = -1;  // poll ignores negative descriptors
    }
  }
  for (pollfd& p : fds) {
    if (p.fd >= 0) close(p.fd);
  }
  return connected;
}

TEST(ListenSocketTest, WidenRaisesTheAcceptQueueLimit) {
  int fd = BoundSocket(0);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(listen(fd, 5), 0);
  ASSERT_TRUE(ListenBacklog(fd).ok());
  EXPECT_EQ(ListenBacklog(fd).value(), 5);
  ASSERT_TRUE(WidenListenBacklog(fd, kListenBacklog).ok());
  EXPECT_EQ(ListenBacklog(fd).value(), std::min(kListenBacklog, SoMaxConn()));
  close(fd);
}

TEST(ListenSocketTest, BacklogOfANonListeningSocketIsAnError) {
  int fd = BoundSocket(0);
  ASSERT_GE(fd, 0);
  EXPECT_FALSE(ListenBacklog(fd).ok());
  close(fd);
}

// What the wider queue is for: a burst of connections that arrives before
// the server accepts any of them. With httplib's queue of 5 most of the
// burst waits for a SYN retry (1 s); with the widened queue none does.
TEST(ListenSocketTest, BurstOfConnectionsIsQueuedNotDropped) {
  constexpr int kBurst = 32;
  int narrow = BoundSocket(0);
  ASSERT_GE(narrow, 0);
  ASSERT_EQ(listen(narrow, 5), 0);
  EXPECT_LT(ConnectBurst(PortOf(narrow), kBurst, 300), kBurst);
  close(narrow);

  int wide = BoundSocket(0);
  ASSERT_GE(wide, 0);
  ASSERT_EQ(listen(wide, 5), 0);
  ASSERT_TRUE(WidenListenBacklog(wide, kListenBacklog).ok());
  EXPECT_EQ(ConnectBurst(PortOf(wide), kBurst, 5000), kBurst);
  close(wide);
}

TEST(ListenSocketTest, PortInUseIsRefused) {
  int first = BoundSocket(0);
  ASSERT_GE(first, 0);
  ASSERT_EQ(listen(first, 5), 0);
  int second = BoundSocket(PortOf(first));
  EXPECT_LT(second, 0) << "a second socket bound a port that is being listened on";
  if (second >= 0) close(second);
  close(first);
}

}  // namespace
}  // namespace kvs::server
