// ServerConfig: the HTTP server's knobs, validated by `kvserve serve`.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <vector>

#include "base/status.h"
#include "engine/request_types.h"
#include "server/openai_request.h"
#include "server/tool_output.h"
#include "tokenizer/vocab.h"

namespace kvs::server {

struct ServerConfig {
  std::string host = "127.0.0.1";
  int port = 8080;                    // 0: any free port (see OpenAiServer::Bind)
  std::vector<std::string> api_keys;  // empty: no auth, one tenant
  std::string model_id;               // the name clients pass as "model"
  int max_model_len = 0;              // context length in tokens
  int max_concurrent_requests = 64;   // generation requests in flight; 429 past it
  size_t max_body_bytes = 1 << 20;    // 413 past it
  // The HTTP front end (http_front_end.h). I/O threads (event loops), each
  // holding any number of connections; 0: 2.
  int n_http_threads = 0;
  int keep_alive_timeout_s = 2;  // an idle keep-alive connection is closed after it
  size_t max_header_bytes = 16384;  // request line and headers: 431 past it
  int max_header_count = 100;       // header fields: 431 past it
  int header_timeout_s = 10;        // the whole head, from its first byte (or the connection's start)
  int body_timeout_s = 30;          // the whole body, once the head is in
  int write_timeout_s = 30;         // one write left unfinished this long closes the connection
  int max_connections = 10240;      // open connections: a new one past it gets 503 and is closed
  // A stream whose client lets this many bytes wait unsent (it reads slower
  // than the model writes) is aborted.
  size_t max_stream_buffer_bytes = 1 << 20;
  // On shutdown, how long in-flight streams get to send their final events
  // before the server stops (kvserve serve then exits within 1 s more,
  // whatever the clients do).
  int shutdown_timeout_s = 5;
  // /metrics needs the API key (when keys are set) unless this is true:
  // its series reveal load and traffic to anyone who can reach the port.
  bool metrics_public = false;
  // A client's `priority` is clamped to [priority_min, priority_max]; the
  // default [0, 0] ignores it, so no tenant can jump the queue unless the
  // operator allows it.
  int priority_min = 0;
  int priority_max = 0;
  // Browser origins allowed to call the API (CORS); "*" for any. Empty: none.
  std::vector<std::string> allowed_origins;
  ParseLimits parse_limits;
  // Sampling values a request leaves out: the model file's own
  // (general.sampling.*, a folder's generation_config.json), else OpenAI's.
  SamplingParams default_sampling;
  // /v1/embeddings: the model's hidden width (0: the route answers 404)
  // and how a prompt's final hidden states are pooled.
  int embedding_size = 0;
  // How the model writes tool calls (tool_output.h), from its chat template.
  ToolCallFormat tool_format = ToolCallFormat::kHermes;
  Pooling embedding_pooling = Pooling::kMean;
};

// Turns chat messages into prompt token ids with the model's chat template
// (set up by the caller, who knows the template family).
// The priority a request runs at: the client's value within the operator's range.
inline int ClampPriority(int requested, const ServerConfig& config) {
  if (requested < config.priority_min) return config.priority_min;
  if (requested > config.priority_max) return config.priority_max;
  return requested;
}

// Renders a chat request's messages (and tools, chat_template_kwargs) to
// prompt token ids.
using ChatEncoder = std::function<StatusOr<std::vector<TokenId>>(const OpenAiRequest&)>;

}  // namespace kvs::server
