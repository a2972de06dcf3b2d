#include "server/cors.h"

#include <algorithm>

namespace kvs::server {

CorsPolicy::CorsPolicy(std::vector<std::string> allowed_origins) {
  for (std::string& o : allowed_origins) {
    if (o == "*") {
      any_ = true;
    } else if (!o.empty()) {
      // Origins never end with '/'; an operator who pasted a URL still means it.
      while (!o.empty() && o.back() == '/') o.pop_back();
      origins_.push_back(std::move(o));
    }
  }
}

bool CorsPolicy::Allows(std::string_view origin) const {
  if (origin.empty()) return false;
  if (any_) return true;
  return std::find(origins_.begin(), origins_.end(), origin) != origins_.end();
}

HeaderList CorsPolicy::ResponseHeaders(std::string_view origin) const {
  if (!Allows(origin)) return {};
  HeaderList h;
  // The origin itself, not "*", even when any is allowed: then Vary keeps
  // caches from handing one origin's answer to another.
  h.emplace_back("Access-Control-Allow-Origin", std::string(origin));
  h.emplace_back("Vary", "Origin");
  // Scripts may read these (429/503 back-off).
  h.emplace_back("Access-Control-Expose-Headers", "Retry-After");
  return h;
}

HeaderList CorsPolicy::PreflightHeaders(std::string_view origin) const {
  HeaderList h = ResponseHeaders(origin);
  if (h.empty()) return h;
  h.emplace_back("Access-Control-Allow-Methods", "GET, POST, OPTIONS");
  // What the OpenAI SDKs send; anything else makes the browser refuse.
  h.emplace_back("Access-Control-Allow-Headers",
                 "Authorization, Content-Type, OpenAI-Organization, OpenAI-Project, "
                 "X-Stainless-Arch, X-Stainless-Lang, X-Stainless-OS, X-Stainless-Package-Version, "
                 "X-Stainless-Runtime, X-Stainless-Runtime-Version, X-Stainless-Retry-Count, "
                 "X-Stainless-Timeout");
  h.emplace_back("Access-Control-Max-Age", "600");
  return h;
}

}  // namespace kvs::server
