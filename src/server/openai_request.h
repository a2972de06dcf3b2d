// OpenAiRequest: a validated POST /v1/chat/completions or /v1/completions
// body, and the parsers that build it from JSON.
//
// Parsing is pure (no engine, no tokenizer): every type and range check of
// the OpenAI API happens here, so a bad request is answered with the
// offending `param` before any work is queued. Checks that need the model
// (unknown model name, prompt longer than the context, token ids outside the
// vocabulary) are made by the route once the prompt is tokenized.
#pragma once

#include <nlohmann/json_fwd.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "sampling/sampling_params.h"
#include "server/api_error.h"
#include "tokenizer/vocab.h"

namespace kvs::server {

enum class Endpoint { kChat, kCompletion };

// An assistant turn's call of a tool (OpenAI's message.tool_calls[i]).
struct ToolCall {
  std::string id;
  std::string name;
  std::string arguments;  // JSON text, as the API carries it
};

struct InputMessage {
  std::string role;     // system, user, assistant, tool ("developer" arrives as system)
  std::string content;  // a string, or text parts joined with "\n"; "" for null
  std::vector<ToolCall> tool_calls;  // assistant
  std::string tool_call_id;          // tool: the call it answers ("" if not sent)
  std::string name;                  // optional participant / tool name
  bool has_reasoning = false;        // reasoning_content was sent (Qwen3's templates read it)
  std::string reasoning_content;
};

// tool_choice: parsed and validated; acting on it (constrained decoding of
// a call) is later work.
struct ToolChoice {
  enum class Mode { kAuto, kNone, kRequired, kFunction };
  Mode mode = Mode::kAuto;
  std::string function_name;  // kFunction
};

struct ParseLimits {
  int max_stop_strings = 4;
  int max_top_logprobs = 20;
  int max_logit_bias = 1024;  // logit_bias entries
  int max_prompt_ids = 1 << 20;  // a token-array prompt longer than this is refused early
  int max_json_depth = 64;       // deeper array/object nesting is refused before parsing
  int max_choices = 16;          // n and best_of at most
  int max_prompts = 64;          // completions: prompts in one request (a batch)
  int max_stop_token_ids = 64;
};

struct OpenAiRequest {
  Endpoint endpoint = Endpoint::kChat;
  std::string model;                   // "" when the client sent none
  std::vector<InputMessage> messages;  // kChat
  // kChat: the "tools" array exactly as sent ("" when none), as JSON text
  // that keeps the client's key order (templates print it with tojson).
  std::string tools_json;
  ToolChoice tool_choice;
  bool parallel_tool_calls = true;
  std::string chat_template_kwargs_json;  // kChat: the object as sent, "" when none
  // kChat, vLLM's: the template's add_generation_prompt, and assistant
  // prefill (the last message, an assistant's, is continued: the rendered
  // prompt ends with its content, the turn left open).
  bool add_generation_prompt = true;
  bool continue_final_message = false;
  struct Prompt {
    std::string text;          // a string prompt
    std::vector<TokenId> ids;  // a token-id prompt
    bool is_ids = false;
  };
  std::vector<Prompt> prompts;         // kCompletion: one, or a batch answered in order
  int max_tokens = -1;      // -1: whatever the context leaves; 0 only with echo
  bool echo = false;        // completions: the prompt is part of the text (and logprobs)
  int prompt_logprobs = -1; // vLLM: >= 0, each prompt token's logprob with this many alternatives
  int n = 1;                // choices returned
  int best_of = 1;          // completions: choices generated (>= n); the n with the
                            // highest cumulative logprob are returned
  SamplingParams sampling;  // top_logprobs >= 0 when logprobs were asked for
  std::vector<std::string> stop;
  bool ignore_eos = false;  // vLLM extension
  // vLLM extensions: no end before min_tokens; more stop tokens; the stop
  // string kept in the text.
  int min_tokens = 0;
  std::vector<TokenId> stop_token_ids;
  bool include_stop_str_in_output = false;
  bool stream = false;
  bool include_usage = false;  // stream_options.include_usage
  std::string user;
  int priority = 0;  // ours: lower runs first
};

// Parses a request body (raw bytes). Malformed JSON, nesting deeper than
// limits.max_json_depth (checked before parsing), a non-object body, wrong
// types and out-of-range values give a 400 ApiError naming the param.
// `defaults`: the sampling values a request leaves out (the model's own,
// e.g. from generation_config.json).
// The body is parsed once, keeping the client's key order (tools and
// schemas are printed and compiled in it); `document`, when given, receives
// that parse for the route's other readers (ReadOutputGrammar).
ApiOr<OpenAiRequest> ParseOpenAiRequest(Endpoint endpoint, std::string_view body,
                                        const ParseLimits& limits = {},
                                        const SamplingParams& defaults = {},
                                        nlohmann::ordered_json* document = nullptr);
// Same, from an already-parsed JSON value.
ApiOr<OpenAiRequest> ParseOpenAiRequestJson(Endpoint endpoint, const nlohmann::json& body,
                                            const ParseLimits& limits = {},
                                            const SamplingParams& defaults = {});

}  // namespace kvs::server
