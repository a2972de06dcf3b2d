// UcxTransport: Transport over UCX's UCP stream API (ucp_stream_send_nbx with
// an iovec gathered from the KV blocks; ucp_stream_recv_nbx with WAITALL
// straight into a block). UCX picks the wire itself: shared memory or TCP on
// one machine, RDMA where the hardware has it. Connections are made through
// UCP's client/server sockaddr API; endpoints use peer error handling, so a
// peer that closes or dies fails the pending operations.
//
// Ownership: a UcxWorker (UCP context + one worker in multi-thread mode) is
// shared by a listener and every transport it accepted (shared_ptr); each
// transport owns its endpoint. Waiting sleeps on the worker's event fd
// (bounded polls of 1 ms), so an idle receiver does not spin a core; one
// progress thread per worker keeps it answering its peer (wireup,
// disconnect) between calls.
#pragma once

#include <memory>
#include <string>

#include "disagg/transport.h"

namespace kvs {

StatusOr<std::unique_ptr<TransportListener>> UcxListen(const std::string& host, int port);
StatusOr<std::unique_ptr<Transport>> UcxConnect(const std::string& host, int port, int timeout_ms);

}  // namespace kvs
