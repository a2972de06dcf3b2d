// ParseHttpRequest: one HTTP/1.1 request from bytes already in memory, under
// the same parser and limits as the front end's connections (head bytes and
// field count, decoded and on-the-wire body bytes). For the request-path
// fuzzer and tests; the front end parses incrementally off the socket with
// the same settings (http_front_end.cc).
//
// Stateless; thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "server/http_message.h"
#include "server/server_config.h"

namespace kvs::server {

struct HttpParseResult {
  // 0: a whole request was parsed into `request`. Else the status the front
  // end answers (400 malformed, 413 body too large, 431 head too large) or
  // -1 when the bytes end before the request does.
  int status = 0;
  std::string error;  // why, when status != 0
  HttpRequest request;
  size_t consumed = 0;  // bytes of `bytes` the request took
};

HttpParseResult ParseHttpRequest(std::string_view bytes, const ServerConfig& config);

}  // namespace kvs::server
