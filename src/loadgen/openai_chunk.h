// Parsing of one OpenAI streaming chunk (the JSON inside an SSE data event)
// from /v1/chat/completions or /v1/completions, reduced to what the load
// generator measures.
//
// Why a reduced view: the client times content deltas and reads usage; the
// rest of the chunk (ids, logprobs, roles) is irrelevant to it.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "base/status.h"

namespace kvs::loadgen {

struct ChunkUsage {
  int prompt_tokens = 0;
  int completion_tokens = 0;
  int cached_tokens = 0;  // usage.prompt_tokens_details.cached_tokens, 0 when absent
};

struct OpenAiChunk {
  bool done = false;  // the "[DONE]" sentinel
  // Text of choices[0] (delta.content for chat, text for completions); empty
  // for a role-only first delta or a usage-only chunk.
  std::string content;
  std::string finish_reason;  // "" while null
  std::optional<ChunkUsage> usage;
  std::string error;  // message of an {"error": {...}} event sent mid-stream
};

// Parses one SSE data payload. Invalid JSON gives kDataLoss.
StatusOr<OpenAiChunk> ParseOpenAiChunk(std::string_view data);

// Reads usage from a JSON object {"prompt_tokens":..., ...}; helper shared
// with non-streaming responses. Missing fields read as 0.
ChunkUsage ParseUsageJson(std::string_view json_object_text);

}  // namespace kvs::loadgen
