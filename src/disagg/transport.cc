#include "disagg/transport.h"

#include "disagg/tcp_transport.h"
#include "disagg/ucx_transport.h"

namespace kvs {

const char* TransportKindName(TransportKind kind) {
  return kind == TransportKind::kTcp ? "tcp" : "ucx";
}

StatusOr<TransportKind> ParseTransportKind(const std::string& name) {
  if (name == "tcp") return TransportKind::kTcp;
  if (name == "ucx") return TransportKind::kUcx;
  return InvalidArgumentError("unknown KV transport '" + name + "' (tcp or ucx)");
}

StatusOr<std::unique_ptr<TransportListener>> ListenTransport(TransportKind kind,
                                                             const std::string& host, int port) {
  if (kind == TransportKind::kTcp) return TcpListener::Create(host, port);
  return UcxListen(host, port);
}

StatusOr<std::unique_ptr<Transport>> ConnectTransport(TransportKind kind, const std::string& host,
                                                      int port, int timeout_ms) {
  if (kind == TransportKind::kTcp) return TcpTransport::Connect(host, port, timeout_ms);
  return UcxConnect(host, port, timeout_ms);
}

}  // namespace kvs
