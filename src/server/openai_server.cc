#include "server/openai_server.h"

#include <chrono>
#include <cstdlib>
#include <ctime>
#include <nlohmann/json.hpp>
#include <thread>

#include "server/admission.h"
#include "server/auth.h"
#include "server/embeddings_route.h"
#include "server/generation_route.h"
#include "server/json_guard.h"
#include "server/openai_response.h"
#include "server/server_metrics.h"
#include "server/web_routes.h"
#include "server/tool_request.h"

namespace kvs::server {
namespace {

using Json = nlohmann::json;

void SendJson(HttpResponse& res, const Json& body) {
  res.SetContent(DumpJson(body), "application/json");
}

// Parses a JSON object body for the small routes; nullopt after answering
// the error.
std::optional<Json> ParseObject(std::string_view text, HttpResponse& res, int max_depth) {
  if (JsonNestingDepth(text, max_depth) > max_depth) {
    SendError(res, JsonTooDeep(max_depth));
    return std::nullopt;
  }
  Json body = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (body.is_discarded()) {
    SendError(res, InvalidParam("", "malformed JSON in the request body", "invalid_json"));
    return std::nullopt;
  }
  if (!body.is_object()) {
    SendError(res, InvalidParam("", "the request body must be a JSON object", "invalid_type"));
    return std::nullopt;
  }
  return body;
}

bool IsPostRoute(std::string_view path) {
  return path == "/v1/chat/completions" || path == "/v1/completions" ||
         path == "/v1/embeddings" || path == "/tokenize" || path == "/detokenize";
}

}  // namespace

StatusOr<std::unique_ptr<OpenAiServer>> OpenAiServer::Create(const ServerConfig& config,
                                                             EngineLoop* engine,
                                                             const Tokenizer* tokenizer,
                                                             ChatEncoder encode_chat) {
  if (engine == nullptr || tokenizer == nullptr || !encode_chat) {
    return InvalidArgumentError("OpenAiServer needs an engine, a tokenizer and a chat encoder");
  }
  if (config.max_model_len <= 0) return InvalidArgumentError("max_model_len must be positive");
  if (config.max_concurrent_requests <= 0) {
    return InvalidArgumentError("--max-concurrent-requests must be positive");
  }
  if (config.model_id.empty()) return InvalidArgumentError("the served model needs a name");
  if (config.priority_min > config.priority_max) {
    return InvalidArgumentError("--priority-min must not exceed --priority-max");
  }
  std::unique_ptr<OpenAiServer> s(new OpenAiServer());
  s->config_ = config;
  if (s->config_.n_http_threads <= 0) s->config_.n_http_threads = 2;
  if (s->config_.max_connections <= 0 || s->config_.header_timeout_s <= 0 ||
      s->config_.body_timeout_s <= 0 || s->config_.write_timeout_s <= 0 ||
      s->config_.keep_alive_timeout_s <= 0 || s->config_.max_header_count <= 0 ||
      s->config_.max_header_bytes < 256 || s->config_.max_stream_buffer_bytes < 4096) {
    return InvalidArgumentError(
        "HTTP limits must be positive (--max-header-bytes at least 256, "
        "--max-stream-buffer-bytes at least 4096)");
  }
  s->engine_ = engine;
  s->tokenizer_ = tokenizer;
  s->encode_chat_ = std::move(encode_chat);
  s->metrics_ = std::make_unique<ServerMetrics>(config.model_id);
  s->auth_ = std::make_unique<ApiKeyAuth>(config.api_keys);
  s->cors_ = std::make_unique<CorsPolicy>(config.allowed_origins);
  s->limiter_ = std::make_unique<ConcurrencyLimiter>(config.max_concurrent_requests);
  s->generation_ = std::make_unique<GenerationRoute>(
      &s->config_, engine, tokenizer, &s->encode_chat_, s->auth_.get(), s->limiter_.get(),
      s->metrics_.get(), &s->draining_);
  s->embeddings_ = std::make_unique<EmbeddingsRoute>(&s->config_, engine, tokenizer,
                                                     config.embedding_size, s->auth_.get(),
                                                     s->limiter_.get(), &s->draining_);
  s->http_ = std::make_unique<HttpFrontEnd>(s->config_, s.get());
  return s;
}

OpenAiServer::~OpenAiServer() = default;

bool OpenAiServer::RefuseHead(const HttpRequest& req, HttpResponse& res) {
  if (req.method != "POST" || !IsPostRoute(req.path)) {
    // Other routes take no body worth reading; a large one is still bounded
    // by the front end's limits.
    return false;
  }
  // POST routes: the key is checked before the body is read, and the body
  // is read under --max-body-bytes whatever its transfer coding.
  if (!auth_->Authenticate(req.Header("Authorization"))) {
    SendError(res, Unauthorized());
    return true;
  }
  const std::string encoding = req.Header("Content-Encoding");
  if (!encoding.empty() && encoding != "identity") {
    ApiError e = InvalidParam("", "Content-Encoding '" + encoding.substr(0, 32) +
                                      "' is not accepted: send the body uncompressed",
                              "unsupported_media_type");
    e.http_status = 415;
    SendError(res, e);
    return true;
  }
  const bool chunked = req.Header("Transfer-Encoding").find("chunked") != std::string::npos;
  if (!chunked && !req.HasHeader("Content-Length")) {
    ApiError e = InvalidParam("", "a request body needs Content-Length or chunked encoding",
                              "length_required");
    e.http_status = 411;
    SendError(res, e);
    return true;
  }
  // The parser has checked Content-Length's syntax; a value past the limit
  // is refused before a byte is read.
  if (!chunked && std::strtoull(req.Header("Content-Length").c_str(), nullptr, 10) >
                      config_.max_body_bytes) {
    SendError(res, PayloadTooLarge(config_.max_body_bytes));
    return true;
  }
  return false;
}

void OpenAiServer::Finalize(const HttpRequest& req, HttpResponse& res) {
  // CORS: every answer to an allowed origin carries its headers (errors
  // included, or a browser script cannot read them).
  if (res.HasHeader("Access-Control-Allow-Origin")) return;
  const std::string origin = req.Header("Origin");
  if (origin.empty()) return;
  for (const auto& [k, v] : cors_->ResponseHeaders(origin)) res.SetHeader(k, v);
}

// Preflights are answered for any path without auth, as browsers send them
// without keys.
void OpenAiServer::Options(const HttpRequest& req, HttpResponse& res) {
  res.SetHeader("Allow", "GET, POST, OPTIONS");
  if (!req.HasHeader("Origin") || !req.HasHeader("Access-Control-Request-Method")) {
    res.status = 204;
    return;
  }
  HeaderList h = cors_->PreflightHeaders(req.Header("Origin"));
  if (h.empty()) {
    ApiError e = InvalidParam("", "CORS: this origin is not allowed (see --allowed-origins)",
                              "origin_not_allowed");
    e.http_status = 403;
    return SendError(res, e);
  }
  for (const auto& [k, v] : h) res.SetHeader(k, v);
  res.status = 204;
}

void OpenAiServer::Handle(const HttpRequest& req, HttpResponse& res) {
  try {
    const std::string& path = req.path;
    if (req.method == "OPTIONS") return Options(req, res);
    if (req.method == "POST") {
      if (path == "/v1/chat/completions") {
        return generation_->Handle(Endpoint::kChat, req, req.body, res);
      }
      if (path == "/v1/completions") {
        return generation_->Handle(Endpoint::kCompletion, req, req.body, res);
      }
      if (path == "/v1/embeddings") {
        if (config_.embedding_size == 0) {
          ApiError e;
          e.http_status = 404;
          e.message = "this server has no embeddings";
          e.code = "not_found";
          return SendError(res, e);
        }
        return embeddings_->Handle(req, req.body, res);
      }
      if (path == "/tokenize") return Tokenize(req, res);
      if (path == "/detokenize") return Detokenize(req, res);
    } else if (req.method == "GET") {
      auto model_json = [this] {
        return Json{{"id", config_.model_id},
                    {"object", "model"},
                    {"created", 0},
                    {"owned_by", "kvserve"},
                    {"root", config_.model_id},
                    {"parent", nullptr},
                    {"max_model_len", config_.max_model_len}};
      };
      constexpr std::string_view kModels = "/v1/models/";
      if (path == "/v1/models") {
        if (!auth_->Authenticate(req.Header("Authorization"))) {
          return SendError(res, Unauthorized());
        }
        return SendJson(res, {{"object", "list"}, {"data", Json::array({model_json()})}});
      }
      if (path.size() > kModels.size() && path.starts_with(kModels)) {
        if (!auth_->Authenticate(req.Header("Authorization"))) {
          return SendError(res, Unauthorized());
        }
        const std::string id = path.substr(kModels.size());
        if (id != config_.model_id) return SendError(res, ModelNotFound(id));
        return SendJson(res, model_json());
      }
      if (path == "/health") {
        if (draining_.load()) return SendError(res, Unavailable("the server is shutting down"));
        return SendJson(res, {{"status", "ok"}});
      }
      if (path == "/metrics") {
        if (!config_.metrics_public && !auth_->Authenticate(req.Header("Authorization"))) {
          return SendError(res, Unauthorized());
        }
        std::string text = metrics_->Render(engine_->Stats());
        if (hooks_.metrics) text += hooks_.metrics();
        return res.SetContent(std::move(text), "text/plain; version=0.0.4");
      }
      if (path == "/kvs/info" && hooks_.info) {
        if (!config_.metrics_public && !auth_->Authenticate(req.Header("Authorization"))) {
          return SendError(res, Unauthorized());
        }
        return res.SetContent(hooks_.info(), "application/json");
      }
      if (HandleWebRoute(req, res, engine_, auth_.get())) return;
    }
    SendError(res, NotFoundRoute(req.method + " " + path));
  } catch (const std::exception& e) {
    res = HttpResponse();
    SendError(res, InternalServerError(e.what()));
  }
}

// vLLM's /tokenize: {"prompt": text} or {"messages": [...]} ->
// {"count", "max_model_len", "tokens"}.
void OpenAiServer::Tokenize(const HttpRequest& req, HttpResponse& res) {
  const std::string_view body_text = req.body;
  if (!auth_->Authenticate(req.Header("Authorization"))) {
    return SendError(res, Unauthorized());
  }
  std::optional<Json> body = ParseObject(body_text, res, config_.parse_limits.max_json_depth);
  if (!body) return;
  Endpoint ep = body->contains("messages") ? Endpoint::kChat : Endpoint::kCompletion;
  // /tokenize's own field, not a generation parameter.
  Json request_fields = *body;
  request_fields.erase("add_special_tokens");
  ApiOr<OpenAiRequest> parsed = ParseOpenAiRequestJson(ep, request_fields, config_.parse_limits,
                                                       config_.default_sampling);
  if (!parsed.ok()) return SendError(res, parsed.error());
  if (!parsed.value().tools_json.empty() || !parsed.value().chat_template_kwargs_json.empty()) {
    // The template prints tools with tojson: the client's key order, as the chat route.
    KeepClientKeyOrder(nlohmann::ordered_json::parse(body_text, nullptr, false), &parsed.value());
  }
  std::vector<TokenId> ids;
  auto special = body->find("add_special_tokens");
  if (ep == Endpoint::kCompletion && parsed.value().prompts.size() > 1) {
    return SendError(res, InvalidParam("prompt", "/tokenize takes one prompt", "invalid_value"));
  }
  if (ep == Endpoint::kCompletion && !parsed.value().prompts[0].is_ids && special != body->end() &&
      special->is_boolean() && !special->get<bool>()) {
    ids = tokenizer_->EncodeWithSpecial(parsed.value().prompts[0].text, /*add_bos=*/false);
  } else {
    ApiOr<std::vector<TokenId>> p = generation_->PromptIds(parsed.value());
    if (!p.ok()) return SendError(res, p.error());
    ids = std::move(p).value();
  }
  SendJson(res, {{"count", ids.size()}, {"max_model_len", config_.max_model_len}, {"tokens", ids}});
}

void OpenAiServer::Detokenize(const HttpRequest& req, HttpResponse& res) {
  if (!auth_->Authenticate(req.Header("Authorization"))) {
    return SendError(res, Unauthorized());
  }
  std::optional<Json> body = ParseObject(req.body, res, config_.parse_limits.max_json_depth);
  if (!body) return;
  auto tokens = body->find("tokens");
  if (tokens == body->end() || !tokens->is_array()) {
    return SendError(
        res, InvalidParam("tokens", "'tokens' must be an array of token ids", "invalid_type"));
  }
  std::vector<TokenId> ids;
  for (const Json& t : *tokens) {
    if (!t.is_number_integer() || t.get<int64_t>() < 0 ||
        t.get<int64_t>() >= tokenizer_->n_vocab()) {
      return SendError(
          res, InvalidParam("tokens", "invalid token id " + DescribeJsonValue(t), "invalid_value"));
    }
    ids.push_back(static_cast<TokenId>(t.get<int64_t>()));
  }
  // Special tokens appear as their text, as vLLM and llama.cpp do here.
  SendJson(res, {{"prompt", tokenizer_->Decode(ids, /*render_special=*/true)}});
}

StatusOr<int> OpenAiServer::Bind() { return http_->Bind(config_.host, config_.port); }

Status OpenAiServer::Serve() {
  http_->Run();
  if (!draining_.load()) return InternalError("the HTTP server stopped unexpectedly");
  return Status::Ok();
}

void OpenAiServer::BeginShutdown() { draining_.store(true); }

void OpenAiServer::Stop() {
  draining_.store(true);
  // In-flight streams end once the engine has aborted them; give them a
  // bounded moment to write their last chunks and [DONE].
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::seconds(config_.shutdown_timeout_s);
  while ((limiter_->in_flight() > 0 || http_->active_responses() > 0) &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  http_->Close();
}

}  // namespace kvs::server
