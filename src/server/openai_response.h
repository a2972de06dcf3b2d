// Builders for OpenAI response bodies: chat.completion, text_completion and
// their streaming chunks, usage and logprobs, in OpenAI's exact shapes.
//
// Pure functions over plain structs (no engine, no tokenizer): the route
// turns engine deltas into these structs, these turn them into JSON.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "server/openai_request.h"

namespace kvs::server {

// Fixed for the life of one request.
struct ResponseContext {
  Endpoint endpoint = Endpoint::kChat;
  std::string id;       // "chatcmpl-..." or "cmpl-..."
  int64_t created = 0;  // unix seconds
  std::string model;
  bool logprobs = false;  // the client asked for logprobs
};

struct Usage {
  int prompt_tokens = 0;
  int completion_tokens = 0;
  int cached_tokens = 0;  // prompt tokens served from the prefix cache
};

struct TopLogprob {
  std::string token;  // raw bytes of the piece; may be a partial UTF-8 sequence
  float logprob = 0;
};

struct LogprobToken {
  std::string token;
  float logprob = 0;
  std::vector<TopLogprob> top;
  int text_offset = 0;  // completions: offset of this token in the generated text
  bool no_logprob = false;  // an echoed prompt's first token: logprob and top are null
};

// "chatcmpl-" / "cmpl-" followed by a request-unique suffix.
std::string MakeResponseId(Endpoint endpoint, int64_t request_id);

// One choice of a response.
struct ChoiceResult {
  std::string text;
  const char* finish_reason = nullptr;
  std::vector<LogprobToken> logprobs;
  std::vector<ToolCall> tool_calls;  // chat: message.tool_calls (content null when text is empty)
  nlohmann::json prompt_logprobs;    // vLLM's list, set when asked for (null: absent)
};

// The whole non-streaming response: choices get "index" 0, 1, ... in order.
nlohmann::json BuildResponse(const ResponseContext& ctx, const std::vector<ChoiceResult>& choices,
                             const Usage& usage);
// The same with one choice.
nlohmann::json BuildResponse(const ResponseContext& ctx, const std::string& text,
                             const char* finish_reason, const std::vector<LogprobToken>& logprobs,
                             const Usage& usage);

// One streaming chunk of choice `index`. `first` adds the assistant role to
// a chat delta; finish_reason null leaves it null (a content chunk).
nlohmann::json BuildChunk(const ResponseContext& ctx, const std::string& text, bool first,
                          const std::vector<LogprobToken>& logprobs, const char* finish_reason,
                          int index = 0);

// A chat chunk carrying a choice's complete tool calls (delta.tool_calls,
// each with its index, id, type and function name and arguments).
nlohmann::json BuildToolCallChunk(const ResponseContext& ctx, const std::vector<ToolCall>& calls,
                                  int index);

// The stream_options.include_usage chunk: empty choices, usage set.
nlohmann::json BuildUsageChunk(const ResponseContext& ctx, const Usage& usage);

nlohmann::json UsageJson(const Usage& usage);

// Compact JSON; invalid UTF-8 (a byte-piece token) is replaced by U+FFFD
// instead of throwing.
std::string DumpJson(const nlohmann::json& j);

}  // namespace kvs::server
