#include "server/http_parse.h"

// clang-format off
// Boost 1.74's Asio needs <utility> before its headers under C++20, and
// detects C++20 coroutines only on GCC and MSVC: clang (make fuzz) is told.
#include <utility>
#if defined(__clang__) && defined(__cpp_impl_coroutine) && !defined(BOOST_ASIO_HAS_CO_AWAIT)
#include <coroutine>
#define BOOST_ASIO_HAS_CO_AWAIT 1
#define BOOST_ASIO_HAS_STD_COROUTINE 1
#endif
// clang-format on

#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cstdint>
#include <limits>

namespace kvs::server {

HttpParseResult ParseHttpRequest(std::string_view bytes, const ServerConfig& config) {
  namespace beast = boost::beast;
  namespace bhttp = boost::beast::http;
  HttpParseResult out;
  bhttp::request_parser<bhttp::string_body> parser;
  parser.eager(false);
  parser.header_limit(static_cast<uint32_t>(std::min<size_t>(config.max_header_bytes, UINT32_MAX)));
  parser.body_limit(std::numeric_limits<std::uint64_t>::max());
  auto fail = [&out](int status, std::string why) {
    out.status = status;
    out.error = std::move(why);
    return out;
  };
  beast::error_code ec;
  // The head first (as the front end reads it), then the body under its limits.
  while (!parser.is_header_done()) {
    const size_t n = parser.put(
        boost::asio::buffer(bytes.data() + out.consumed, bytes.size() - out.consumed), ec);
    out.consumed += n;
    if (ec == bhttp::error::need_more) {
      // All the bytes were offered: "more" can only be bytes we lack (the
      // fuzzer found the loop that offered the same ones forever).
      if (n == 0 || out.consumed >= bytes.size()) return fail(-1, "incomplete head");
      ec = {};
      continue;
    }
    if (ec == bhttp::error::header_limit) return fail(431, "head too large");
    if (ec) return fail(400, ec.message());
    // Nothing taken and no error: likewise.
    if (n == 0) return fail(-1, "incomplete head");
  }
  const auto& msg = parser.get();
  HttpRequest& req = out.request;
  req.method = std::string(msg.method_string());
  req.target = std::string(msg.target());
  req.path = req.target.substr(0, req.target.find('?'));
  for (const auto& f : msg)
    req.headers.emplace_back(std::string(f.name_string()), std::string(f.value()));
  if (static_cast<int>(req.headers.size()) > config.max_header_count) {
    return fail(431, "too many header fields");
  }
  parser.body_limit(config.max_body_bytes);
  // Set after the head, the body limit does not see Content-Length itself.
  if (parser.content_length() && *parser.content_length() > config.max_body_bytes) {
    return fail(413, "body too large");
  }
  const size_t head_end = out.consumed;
  const size_t wire_limit = 2 * config.max_body_bytes + 4096;
  parser.eager(true);
  while (!parser.is_done()) {
    const size_t n = parser.put(
        boost::asio::buffer(bytes.data() + out.consumed, bytes.size() - out.consumed), ec);
    out.consumed += n;
    if (out.consumed - head_end > wire_limit || ec == bhttp::error::body_limit) {
      return fail(413, "body too large");
    }
    if (ec == bhttp::error::need_more) {
      // All the bytes were offered: "more" can only be bytes we lack (the
      // fuzzer found the loop that offered the same ones forever).
      if (n == 0 || out.consumed >= bytes.size()) return fail(-1, "incomplete body");
      ec = {};
      continue;
    }
    if (ec) return fail(400, ec.message());
    if (n == 0) return fail(-1, "incomplete body");
  }
  req.body = std::move(parser.get().body());
  return out;
}

}  // namespace kvs::server
