// OpenAiServer: the OpenAI-compatible routes over the event-driven HTTP
// front end (http_front_end.h, Boost.Beast); the routes see only
// HttpRequest/HttpResponse (http_message.h).
//
// Routes: POST /v1/chat/completions, POST /v1/completions, GET /v1/models,
// GET /v1/models/{id}, GET /health, GET /metrics, POST /tokenize,
// POST /detokenize, and the web page at GET / with GET /v1/kv/snapshot
// (web_routes.h). Every error is an OpenAI-style JSON body.
//
// Ownership: borrows the EngineLoop and the Tokenizer (they must outlive the
// server); owns the front end, its I/O threads, the metrics and the
// admission limiter. Thread-safety: Serve() blocks one thread; BeginShutdown
// and Stop may be called from any other thread (e.g. a signal thread).
//
// Shutdown order (what `kvserve serve` does on SIGINT/SIGTERM):
// BeginShutdown() (new requests get 503), EngineLoop::Shutdown() (in-flight
// requests end with finish_reason "abort", their streams close with
// [DONE]), then Stop() (waits for those streams to be written, up to
// shutdown_timeout_s, then closes the listener and every connection,
// whatever the clients do; Serve returns within half a second more).
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>

#include "base/status.h"
#include "engine/engine_loop.h"
#include "server/cors.h"
#include "server/http_front_end.h"
#include "server/server_config.h"

namespace kvs::server {

class EmbeddingsRoute;
class GenerationRoute;
class ServerMetrics;
class ApiKeyAuth;
class ConcurrencyLimiter;

// What a disaggregated worker adds to the routes (kvserve serve --role).
struct WorkerHooks {
  std::function<std::string()> metrics;  // appended to GET /metrics
  std::function<std::string()> info;     // GET /kvs/info: a JSON object
};

class OpenAiServer final : public HttpApp {
 public:
  static StatusOr<std::unique_ptr<OpenAiServer>> Create(const ServerConfig& config,
                                                        EngineLoop* engine,
                                                        const Tokenizer* tokenizer,
                                                        ChatEncoder encode_chat);
  ~OpenAiServer() override;

  // Binds the listening socket; returns the port (the chosen one when
  // config.port is 0).
  StatusOr<int> Bind();
  // Serves until Stop(). REQUIRES: Bind() succeeded.
  Status Serve();

  void BeginShutdown();
  void Stop();
  // Before Serve().
  void SetWorkerHooks(WorkerHooks hooks) { hooks_ = std::move(hooks); }

  // HttpApp: the routes.
  bool RefuseHead(const HttpRequest& req, HttpResponse& res) override;
  void Handle(const HttpRequest& req, HttpResponse& res) override;
  void Finalize(const HttpRequest& req, HttpResponse& res) override;

 private:
  OpenAiServer() = default;
  void Options(const HttpRequest& req, HttpResponse& res);
  void Tokenize(const HttpRequest& req, HttpResponse& res);
  void Detokenize(const HttpRequest& req, HttpResponse& res);

  ServerConfig config_;
  EngineLoop* engine_ = nullptr;
  const Tokenizer* tokenizer_ = nullptr;
  ChatEncoder encode_chat_;
  std::unique_ptr<ServerMetrics> metrics_;
  std::unique_ptr<ApiKeyAuth> auth_;
  std::unique_ptr<CorsPolicy> cors_;
  std::unique_ptr<ConcurrencyLimiter> limiter_;
  std::unique_ptr<GenerationRoute> generation_;
  std::unique_ptr<EmbeddingsRoute> embeddings_;
  std::unique_ptr<HttpFrontEnd> http_;
  WorkerHooks hooks_;
  std::atomic<bool> draining_{false};
};

}  // namespace kvs::server
