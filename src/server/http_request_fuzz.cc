// libFuzzer target: the whole request path, from the bytes a client sends
// (HTTP head and body, any transfer coding) to a parsed OpenAI request:
// ParseHttpRequest under small limits (Beast's parser, the head and body
// limits of the front end), then for the generation routes the nesting
// guard and ParseOpenAiRequest. Every input must end in a request, a status
// in 400..499 or "incomplete"; never a crash, unbounded recursion or hang
// (built with ASan; `make fuzz`).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "base/check.h"
#include "server/http_parse.h"
#include "server/json_guard.h"
#include "server/openai_request.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace kvs::server;
  ServerConfig config;
  config.max_header_bytes = 2048;
  config.max_header_count = 16;
  config.max_body_bytes = 16384;
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  HttpParseResult r = ParseHttpRequest(bytes, config);
  if (r.status != 0) {
    KVS_CHECK(r.status == -1 || (r.status >= 400 && r.status < 500)) << r.status;
    KVS_CHECK(!r.error.empty());
    return 0;
  }
  KVS_CHECK(r.consumed <= size);
  const HttpRequest& req = r.request;
  KVS_CHECK(req.body.size() <= config.max_body_bytes);
  KVS_CHECK(req.headers.size() <= static_cast<size_t>(config.max_header_count));
  // Header lookups are total.
  (void)req.Header("Authorization");
  (void)req.HasHeader("Content-Encoding");
  Endpoint endpoint;
  if (req.path == "/v1/chat/completions") {
    endpoint = Endpoint::kChat;
  } else if (req.path == "/v1/completions") {
    endpoint = Endpoint::kCompletion;
  } else {
    return 0;
  }
  const int depth = JsonNestingDepth(req.body, config.parse_limits.max_json_depth);
  KVS_CHECK(depth >= 0 && depth <= config.parse_limits.max_json_depth + 1);
  auto parsed = ParseOpenAiRequest(endpoint, req.body, config.parse_limits);
  if (!parsed.ok()) {
    KVS_CHECK(parsed.error().http_status >= 400 && parsed.error().http_status < 500);
    KVS_CHECK(!parsed.error().message.empty());
    return 0;
  }
  KVS_CHECK(depth <= config.parse_limits.max_json_depth);
  KVS_CHECK(parsed.value().endpoint == endpoint);
  return 0;
}
