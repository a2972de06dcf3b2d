// Network addresses as flags and URLs spell them.
#pragma once

#include <string>
#include <string_view>

#include "base/status.h"

namespace kvs {

struct HostPort {
  std::string host;
  int port = 0;
};

// A decimal port, 1..65535, nothing else.
StatusOr<int> ParsePort(std::string_view text);
// "host:port" (the last ':' splits, so the host may not be empty and the
// port is required). Errors name `text`.
StatusOr<HostPort> ParseHostPort(std::string_view text);

}  // namespace kvs
