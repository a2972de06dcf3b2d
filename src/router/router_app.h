// RouterApp: `kvserve router`'s routes, the same OpenAI API as `serve`
// (POST /v1/chat/completions and /v1/completions, GET /v1/models, /health,
// /metrics, POST /tokenize, /detokenize and /v1/embeddings) in front of prefill and decode workers, plus GET /kvs/info (the
// workers as the router sees them). Each generation request is placed by
// the WorkerPool and relayed by a ProxyCall; the answer streams from the
// decode worker.
//
// Checks before relaying, each with its OpenAI-style error: API key (401;
// the Authorization header is forwarded, so the workers, given the same
// keys, derive the same tenant for the prefix cache), shutting down (503),
// JSON (400), concurrency (429). Body and header limits are the front end's.
//
// Ownership: borrows the pool; owns its stats and the limiter. The
// destructor waits (bounded) for the relaying threads. Thread-safety: as
// HttpApp.
#pragma once

#include <atomic>
#include <memory>

#include "router/router_stats.h"
#include "router/worker_pool.h"
#include "server/admission.h"
#include "server/auth.h"
#include "server/http_front_end.h"
#include "server/server_config.h"

namespace kvs::router {

class RouterApp final : public server::HttpApp {
 public:
  RouterApp(const server::ServerConfig& config, WorkerPool* pool);
  ~RouterApp() override;

  bool RefuseHead(const server::HttpRequest& req, server::HttpResponse& res) override;
  void Handle(const server::HttpRequest& req, server::HttpResponse& res) override;
  void Finalize(const server::HttpRequest&, server::HttpResponse&) override {}

  void BeginShutdown() { draining_.store(true); }
  const RouterStats& stats() const { return stats_; }

 private:
  void Generate(const server::HttpRequest& req, server::HttpResponse& res);

  const server::ServerConfig config_;
  WorkerPool* const pool_;
  const server::ApiKeyAuth auth_;
  server::ConcurrencyLimiter limiter_;
  RouterStats stats_;
  std::atomic<bool> draining_{false};
};

}  // namespace kvs::router
