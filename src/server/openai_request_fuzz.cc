// libFuzzer target: the request path from body bytes to a parsed OpenAI
// request (the nesting guard, the JSON parser, ParseOpenAiRequest and the
// error messages built from untrusted values) must answer a value or a 400,
// never crash, recurse without bound or hang (built with ASan; see the
// Makefile's `make fuzz`). The first byte picks the endpoint and a nesting
// limit, so both the refusal and the parse past it are reached.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "base/check.h"
#include "server/json_guard.h"
#include "server/openai_request.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  using kvs::server::Endpoint;
  const Endpoint endpoint = (data[0] & 1) ? Endpoint::kChat : Endpoint::kCompletion;
  kvs::server::ParseLimits limits;
  limits.max_json_depth = 2 + (data[0] >> 1);  // 2..129
  const std::string_view body(reinterpret_cast<const char*>(data + 1), size - 1);

  const int depth = kvs::server::JsonNestingDepth(body, limits.max_json_depth);
  KVS_CHECK(depth >= 0 && depth <= limits.max_json_depth + 1);

  auto parsed = kvs::server::ParseOpenAiRequest(endpoint, body, limits);
  if (!parsed.ok()) {
    const kvs::server::ApiError& e = parsed.error();
    KVS_CHECK(e.http_status >= 400 && e.http_status < 500) << e.http_status;
    KVS_CHECK(!e.message.empty());
    return 0;
  }
  // Accepted: within the guard, and the request says what it holds.
  KVS_CHECK(depth <= limits.max_json_depth);
  const kvs::server::OpenAiRequest& r = parsed.value();
  KVS_CHECK(r.endpoint == endpoint);
  KVS_CHECK(r.max_tokens >= -1);
  KVS_CHECK(r.stop.size() <= static_cast<size_t>(limits.max_stop_strings));
  if (endpoint == Endpoint::kChat) KVS_CHECK(!r.messages.empty());
  KVS_CHECK(r.prompts.size() <= static_cast<size_t>(std::max(limits.max_prompts, 1)));
  for (const auto& p : r.prompts) {
    if (p.is_ids) {
      KVS_CHECK(!p.ids.empty());
      KVS_CHECK(p.ids.size() <= static_cast<size_t>(limits.max_prompt_ids));
    }
  }
  return 0;
}
