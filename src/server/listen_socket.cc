#include "server/listen_socket.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <string>

namespace kvs::server {

void SetListenSocketOptions(int fd) {
  int yes = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
}

Status WidenListenBacklog(int fd, int backlog) {
  if (::listen(fd, backlog) != 0) {
    return InternalError(std::string("listen() on the server socket failed: ") +
                         std::strerror(errno));
  }
  return Status::Ok();
}

StatusOr<int> ListenBacklog(int fd) {
  tcp_info info{};
  socklen_t len = sizeof(info);
  if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &len) != 0) {
    return InternalError(std::string("TCP_INFO: ") + std::strerror(errno));
  }
  if (info.tcpi_state != TCP_LISTEN) return InvalidArgumentError("the socket is not listening");
  // For a listening socket Linux reports the accept-queue limit here.
  return static_cast<int>(info.tcpi_sacked);
}

}  // namespace kvs::server
