// Server-sent events framing for OpenAI streams: "data: <json>\n\n" per
// event, "data: [DONE]\n\n" at the end, and ": comment" lines that clients
// ignore (sent as heartbeats while a request waits, so that a vanished
// client is noticed by a failing write).
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace kvs::server {

// REQUIRES: payload has no newline (compact JSON never does).
std::string SseData(std::string_view payload);
std::string SseDone();
std::string SseComment(std::string_view text);

// Splits an SSE byte stream into the payloads of its data: events (for
// tests and the load generator). Partial trailing events are ignored.
std::vector<std::string> ParseSseData(std::string_view stream);

}  // namespace kvs::server
