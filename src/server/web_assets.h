// WebAssets: the chat page and KV dashboard (src/server/web/), compiled into
// the binary at build time by cmake/embed_web.cmake (a generated .cc).
// Thread-safety: immutable static data.
#pragma once

#include <span>
#include <string_view>

namespace kvs::server {

struct WebAsset {
  std::string_view name;          // file name, e.g. "app.js"
  std::string_view content_type;  // e.g. "text/javascript; charset=utf-8"
  std::string_view body;
};

std::span<const WebAsset> WebAssets();

}  // namespace kvs::server
