// Options for the server's listening socket (the front end binds with them).
//
// They were written against two defaults of Debian's precompiled httplib
// (0.11.4), which the server no longer uses (the loadgen client still does);
// both still matter for any listener:
// - It sets SO_REUSEPORT, so a second `kvserve serve` on a port that is
//   already served binds it without error and the kernel splits new
//   connections between the two processes. We set SO_REUSEADDR only: a
//   restart can still bind while old connections sit in TIME_WAIT, but a
//   port in use is refused.
// - It listens with an accept queue of 5 (CPPHTTPLIB_LISTEN_BACKLOG, fixed
//   when the library was built). A burst of more connections than that,
//   arriving while the accept thread is busy, overflows the queue; Linux
//   drops the extra SYNs and each client retries after its 1 s SYN timeout,
//   a one-second stall before the first token. Calling listen() again on a
//   listening socket widens its queue.
// The Beast front end sets SO_REUSEADDR alone and listens with
// kListenBacklog from the start.
//
// Free functions on a socket descriptor; no state, thread-compatible.
#pragma once

#include "base/status.h"

namespace kvs::server {

// The accept queue asked for: the kernel caps it at net.core.somaxconn.
inline constexpr int kListenBacklog = 4096;

// Sets SO_REUSEADDR (and not SO_REUSEPORT) on a socket before it binds.
void SetListenSocketOptions(int fd);

// Widens the accept queue of a socket that is already listening.
Status WidenListenBacklog(int fd, int backlog);

// The accept-queue limit the kernel applies to a listening socket (Linux
// TCP_INFO), for tests and diagnostics.
StatusOr<int> ListenBacklog(int fd);

}  // namespace kvs::server
