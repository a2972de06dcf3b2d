// CorsPolicy: which browser origins may call the API (--allowed-origins),
// and the CORS headers their requests and preflights are answered with.
//
// Default: no origin, so no CORS header is ever sent and browsers keep
// their same-origin rule. "*" allows every origin; since the API key is
// sent as a header (not a cookie), credentials are never allowed.
// Transport-neutral: returns header name/value pairs. Immutable after
// construction: thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace kvs::server {

using HeaderList = std::vector<std::pair<std::string, std::string>>;

class CorsPolicy {
 public:
  // Origins as browsers send them ("https://app.example.com"), or "*".
  explicit CorsPolicy(std::vector<std::string> allowed_origins);

  bool enabled() const { return !origins_.empty() || any_; }
  bool Allows(std::string_view origin) const;

  // Headers for an actual (non-preflight) request from `origin`: empty when
  // the origin is absent or not allowed.
  HeaderList ResponseHeaders(std::string_view origin) const;

  // Headers for a preflight (OPTIONS with Access-Control-Request-Method):
  // empty when the origin is not allowed.
  HeaderList PreflightHeaders(std::string_view origin) const;

 private:
  std::vector<std::string> origins_;
  bool any_ = false;
};

}  // namespace kvs::server
