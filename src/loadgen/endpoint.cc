#include "loadgen/endpoint.h"

#include "base/host_port.h"

namespace kvs::loadgen {

StatusOr<Endpoint> ParseEndpoint(std::string_view url) {
  const std::string original(url);
  if (url.starts_with("https://")) {
    return InvalidArgumentError("https is not supported: " + original);
  }
  if (url.starts_with("http://")) url.remove_prefix(7);
  if (url.find("://") != std::string_view::npos) {
    return InvalidArgumentError("unsupported URL scheme: " + original);
  }
  Endpoint ep;
  const size_t slash = url.find('/');
  if (slash != std::string_view::npos) {
    std::string_view path = url.substr(slash);
    while (!path.empty() && path.back() == '/') path.remove_suffix(1);
    ep.base_path = std::string(path);
    url = url.substr(0, slash);
  }
  const size_t colon = url.rfind(':');
  if (colon != std::string_view::npos) {
    StatusOr<int> port = ParsePort(url.substr(colon + 1));
    if (!port.ok()) return InvalidArgumentError("bad port in URL: " + original);
    ep.port = *port;
    url = url.substr(0, colon);
  }
  if (url.empty()) return InvalidArgumentError("no host in URL: " + original);
  ep.host = std::string(url);
  return ep;
}

}  // namespace kvs::loadgen
