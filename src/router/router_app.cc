#include "router/router_app.h"

#include <chrono>
#include <nlohmann/json.hpp>
#include <thread>

#include "router/proxy_call.h"
#include "server/api_error.h"
#include "server/generation_route.h"
#include "server/json_guard.h"

namespace kvs::router {
namespace {

using Json = nlohmann::json;

bool IsGeneration(std::string_view path) {
  return path == "/v1/chat/completions" || path == "/v1/completions";
}

}  // namespace

RouterApp::RouterApp(const server::ServerConfig& config, WorkerPool* pool)
    : config_(config),
      pool_(pool),
      auth_(config.api_keys),
      limiter_(config.max_concurrent_requests) {}

RouterApp::~RouterApp() {
  // The front end has cancelled every body (their upstream clients stop):
  // the relaying threads end, each giving its slot back.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (limiter_.in_flight() > 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

bool RouterApp::RefuseHead(const server::HttpRequest& req, server::HttpResponse& res) {
  if (req.method == "POST" && IsGeneration(req.path) &&
      !auth_.Authenticate(req.Header("Authorization"))) {
    server::SendError(res, server::Unauthorized());
    res.close = true;
    return true;
  }
  return false;
}

void RouterApp::Handle(const server::HttpRequest& req, server::HttpResponse& res) {
  using server::SendError;
  const std::string& path = req.path;
  if (req.method == "POST" && IsGeneration(path)) return Generate(req, res);
  if (req.method == "POST" &&
      (path == "/tokenize" || path == "/detokenize" || path == "/v1/embeddings")) {
    // Any decode worker answers (one model), computing it itself.
    if (!auth_.Authenticate(req.Header("Authorization"))) return SendError(res, server::Unauthorized());
    std::unique_ptr<server::ConcurrencyLimiter::Slot> slot = limiter_.TryAcquire();
    if (!slot) return SendError(res, server::TooManyRequests(limiter_.max_in_flight()));
    ProxyRequest pr;
    pr.path = path;
    pr.body = req.body;
    pr.authorization = req.Header("Authorization");
    pr.utility = true;
    auto call = std::make_shared<ProxyCall>(std::move(pr), pool_, &stats_, std::move(slot));
    res.deferred = call->MakeBody();
    call->Start();
    return;
  }
  if (req.method == "GET") {
    if (path == "/health") {
      if (draining_.load()) return SendError(res, server::Unavailable("the router is shutting down"));
      if (!pool_->AnyDecodeUp()) return SendError(res, server::Unavailable("no decode worker is up"));
      return res.SetContent(R"({"status":"ok","role":"router"})", "application/json");
    }
    const bool authed = static_cast<bool>(auth_.Authenticate(req.Header("Authorization")));
    if (path == "/metrics" || path == "/kvs/info") {
      if (!config_.metrics_public && !authed) return SendError(res, server::Unauthorized());
      if (path == "/metrics") {
        return res.SetContent(stats_.MetricsText() + pool_->MetricsText(),
                              "text/plain; version=0.0.4");
      }
      return res.SetContent(pool_->Info().dump(), "application/json");
    }
    if (path == "/v1/models") {
      if (!authed) return SendError(res, server::Unauthorized());
      std::string models = pool_->ModelsJson();
      if (models.empty()) return SendError(res, server::Unavailable("no decode worker is up"));
      return res.SetContent(std::move(models), "application/json");
    }
  }
  SendError(res, server::NotFoundRoute(req.method + " " + path));
}

void RouterApp::Generate(const server::HttpRequest& req, server::HttpResponse& res) {
  using server::SendError;
  const std::optional<std::string> tenant = auth_.Authenticate(req.Header("Authorization"));
  if (!tenant) return SendError(res, server::Unauthorized());
  if (draining_.load()) return SendError(res, server::Unavailable("the router is shutting down"));
  const int max_depth = config_.parse_limits.max_json_depth;
  if (server::JsonNestingDepth(req.body, max_depth) > max_depth) {
    return SendError(res, server::JsonTooDeep(max_depth));
  }
  const Json body = Json::parse(req.body, nullptr, /*allow_exceptions=*/false);
  if (body.is_discarded() || !body.is_object()) {
    return SendError(res, server::InvalidParam("", "the request body must be a JSON object",
                                               "invalid_json"));
  }
  std::unique_ptr<server::ConcurrencyLimiter::Slot> slot = limiter_.TryAcquire();
  if (!slot) return SendError(res, server::TooManyRequests(limiter_.max_in_flight()));
  ProxyRequest pr;
  pr.path = req.path;
  pr.body = req.body;
  pr.authorization = req.Header("Authorization");
  auto stream = body.find("stream");
  pr.stream = stream != body.end() && stream->is_boolean() && stream->get<bool>();
  // The prefix key: the tenant and the prompt's first bytes, as a proxy for
  // its first KV blocks (the router does not tokenize).
  const char* field = req.path == "/v1/chat/completions" ? "messages" : "prompt";
  std::string head = body.contains(field) ? body[field].dump() : std::string();
  if (head.size() > 256) head.resize(256);
  pr.prefix_key = PrefixKey(*tenant, head);
  const bool streaming = pr.stream;
  auto call = std::make_shared<ProxyCall>(std::move(pr), pool_, &stats_, std::move(slot));
  if (streaming) {
    res.SetHeader("Cache-Control", "no-cache");
    res.SetHeader("X-Accel-Buffering", "no");
    res.content_type = "text/event-stream";
    res.streaming = true;
  }
  res.deferred = call->MakeBody();
  call->Start();
}

}  // namespace kvs::router
