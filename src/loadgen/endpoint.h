// Endpoint: where the load generator sends requests, parsed from --url.
//
// Only plain http is supported: the tool is meant for loopback and lab
// networks, and TLS would measure the TLS stack as much as the server.
#pragma once

#include <string>
#include <string_view>

#include "base/status.h"

namespace kvs::loadgen {

struct Endpoint {
  std::string host;  // "127.0.0.1"
  int port = 80;
  std::string base_path;  // "" or a prefix without trailing '/', e.g. "/api"
  std::string api_key;    // default key when a request names none

  std::string Url() const { return "http://" + host + ":" + std::to_string(port) + base_path; }
};

// Accepts "http://HOST[:PORT][/PATH]" and "HOST:PORT". Anything else,
// https included, is kInvalidArgument.
StatusOr<Endpoint> ParseEndpoint(std::string_view url);

}  // namespace kvs::loadgen
