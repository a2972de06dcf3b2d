// GenerationRoute: POST /v1/chat/completions and /v1/completions.
//
// Order of checks, each answered with its own status: API key (401),
// shutting down (503), JSON and parameters (400), model name (404), prompt
// token ids and context length (400 context_length_exceeded), concurrency
// (429 + Retry-After), engine admission (503 + Retry-After when its queue is
// full). Then the request runs: the answer is a DeferredBody
// (http_message.h), the whole response once done or an SSE stream, which
// the transport cancels when the client leaves: the request is then aborted
// in the engine, so its KV blocks are freed within a step.
//
// Borrows everything it is built with. Thread-safety: Handle may run on
// several I/O threads at once; it never waits on the engine.
#pragma once

#include <atomic>
#include <chrono>
#include <string_view>

#include "engine/engine_loop.h"
#include "server/admission.h"
#include "server/http_message.h"
#include "server/auth.h"
#include "server/server_config.h"
#include "server/server_metrics.h"

namespace kvs::server {

// Disaggregated serving: a router names the prefill worker that sends a
// request's prompt KV in this header; the answer says how it ran
// ("imported" or "colocated").
inline constexpr std::string_view kPrefillWorkerHeader = "X-Kvs-Prefill-Worker";
inline constexpr std::string_view kDisaggModeHeader = "X-Kvs-Disagg";

// Writes `error` as the response (status, JSON body, Retry-After).
void SendError(HttpResponse& res, const ApiError& error);

class GenerationRoute {
 public:
  GenerationRoute(const ServerConfig* config, EngineLoop* engine, const Tokenizer* tokenizer,
                  const ChatEncoder* encode_chat, const ApiKeyAuth* auth,
                  ConcurrencyLimiter* limiter, ServerMetrics* metrics,
                  const std::atomic<bool>* draining);

  // `body` is the request body, read (within the limits) by the caller.
  void Handle(Endpoint endpoint, const HttpRequest& req, std::string_view body,
              HttpResponse& res);

  // Prompt token ids for a parsed request (chat template, or plain encode
  // of completions prompt `index`), with ids checked against the vocabulary.
  ApiOr<std::vector<TokenId>> PromptIds(const OpenAiRequest& request, size_t index = 0) const;

 private:
  const ServerConfig* config_;
  EngineLoop* engine_;
  const Tokenizer* tokenizer_;
  const ChatEncoder* encode_chat_;
  const ApiKeyAuth* auth_;
  ConcurrencyLimiter* limiter_;
  ServerMetrics* metrics_;
  const std::atomic<bool>* draining_;
  // A prompt text longer than this many bytes cannot fit the context
  // whatever it encodes to (no token covers more than the longest piece):
  // refused before it is tokenized.
  size_t max_prompt_bytes_ = 0;
};

}  // namespace kvs::server
