#include "base/host_port.h"

#include <charconv>

namespace kvs {

StatusOr<int> ParsePort(std::string_view text) {
  int port = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), port);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size() || port < 1 ||
      port > 65535) {
    return InvalidArgumentError("bad port '" + std::string(text) + "'");
  }
  return port;
}

StatusOr<HostPort> ParseHostPort(std::string_view text) {
  const size_t colon = text.rfind(':');
  if (colon == std::string_view::npos || colon == 0) {
    return InvalidArgumentError("'" + std::string(text) + "' is not host:port");
  }
  StatusOr<int> port = ParsePort(text.substr(colon + 1));
  if (!port.ok()) return InvalidArgumentError("'" + std::string(text) + "': " + port.status().message());
  return HostPort{std::string(text.substr(0, colon)), *port};
}

}  // namespace kvs
