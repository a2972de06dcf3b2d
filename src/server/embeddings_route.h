// POST /v1/embeddings (OpenAI's shape): `input` as a string, an array of
// strings, an array of token ids or an array of those; each input becomes
// one engine request that computes its prompt and returns the pooled,
// L2-normalized final hidden state (ServerConfig::embedding_pooling: mean
// or last token). encoding_format "float" or "base64" (little-endian
// float32, as OpenAI's SDKs decode it). `dimensions` other than the
// model's width is a 400: we do not truncate.
//
// Borrows everything it is given; thread-safe (Handle runs on any I/O
// thread and never waits: the answer is a DeferredBody).
#pragma once

#include <atomic>
#include <string_view>

#include "engine/engine_loop.h"
#include "server/admission.h"
#include "server/auth.h"
#include "server/http_message.h"
#include "server/server_config.h"
#include "tokenizer/tokenizer.h"

namespace kvs::server {

class EmbeddingsRoute {
 public:
  EmbeddingsRoute(const ServerConfig* config, EngineLoop* engine, const Tokenizer* tokenizer,
                  int hidden_size, const ApiKeyAuth* auth, ConcurrencyLimiter* limiter,
                  const std::atomic<bool>* draining);

  void Handle(const HttpRequest& req, std::string_view body, HttpResponse& res);

 private:
  const ServerConfig* config_;
  EngineLoop* engine_;
  const Tokenizer* tokenizer_;
  const int hidden_size_;
  const ApiKeyAuth* auth_;
  ConcurrencyLimiter* limiter_;
  const std::atomic<bool>* draining_;
};

}  // namespace kvs::server
