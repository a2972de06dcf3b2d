#include "server/openai_server.h"

#include <httplib.h>

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
#include "server/listen_socket.h"
#include "server/openai_response.h"
#include "server/server_metrics.h"
#include "server/web_routes.h"
#include "server/tool_request.h"

namespace kvs::server {
namespace {

using Json = nlohmann::json;

void SendJson(httplib::Response& res, const Json& body) {
  res.set_content(DumpJson(body), "application/json");
}

// Parses a JSON object body for the small routes; nullopt after answering
// the error.
std::optional<Json> ParseObject(std::string_view text, httplib::Response& res, int max_depth) {
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

// Refuses what must not be read, then reads the body counting the bytes
// that reach us (chunked or not), stopping past `max_bytes`. nullopt after
// answering the error; the connection is then closed, since the rest of
// the body was never read and cannot be told from the next request.
std::optional<std::string> ReadLimitedBody(const httplib::Request& req, httplib::Response& res,
                                           const httplib::ContentReader& reader,
                                           size_t max_bytes) {
  auto refuse = [&res](const ApiError& e) -> std::optional<std::string> {
    SendError(res, e);
    res.set_header("Connection", "close");
    return std::nullopt;
  };
  const std::string encoding = req.get_header_value("Content-Encoding");
  if (!encoding.empty() && encoding != "identity") {
    ApiError e = InvalidParam("", "Content-Encoding '" + encoding.substr(0, 32) +
                                      "' is not accepted: send the body uncompressed",
                              "unsupported_media_type");
    e.http_status = 415;
    return refuse(e);
  }
  const bool chunked =
      req.get_header_value("Transfer-Encoding").find("chunked") != std::string::npos;
  if (!chunked && !req.has_header("Content-Length")) {
    ApiError e = InvalidParam("", "a request body needs Content-Length or chunked encoding",
                              "length_required");
    e.http_status = 411;
    return refuse(e);
  }
  // httplib has parsed Content-Length (a malformed one is refused before
  // routing); a value past the limit is refused before a byte is read.
  if (!chunked && std::strtoull(req.get_header_value("Content-Length").c_str(), nullptr, 10) >
                      max_bytes) {
    return refuse(PayloadTooLarge(max_bytes));
  }
  std::string body;
  bool over = false;
  const bool read_ok = reader([&](const char* data, size_t n) {
    if (body.size() + n > max_bytes) {
      over = true;
      return false;
    }
    body.append(data, n);
    return true;
  });
  if (over) return refuse(PayloadTooLarge(max_bytes));
  if (!read_ok) {
    return refuse(InvalidParam("", "the request body could not be read", "invalid_body"));
  }
  return body;
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
  if (s->config_.n_http_threads <= 0) {
    s->config_.n_http_threads = config.max_concurrent_requests + 32;
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
  s->http_ = std::make_unique<httplib::Server>();
  s->InstallRoutes();
  return s;
}

OpenAiServer::~OpenAiServer() = default;

void OpenAiServer::InstallRoutes() {
  httplib::Server& http = *http_;
  const int n_threads = config_.n_http_threads;
  http.new_task_queue = [n_threads] { return new httplib::ThreadPool(n_threads); };
  http.set_payload_max_length(config_.max_body_bytes);
  http.set_keep_alive_timeout(config_.keep_alive_timeout_s);
  http.set_keep_alive_max_count(1000);
  // Called for the listening socket only (accepted sockets get no options);
  // see listen_socket.h for why httplib's defaults are replaced.
  http.set_socket_options([this](int fd) {
    SetListenSocketOptions(fd);
    listen_fd_ = fd;
  });

  // httplib answers some errors itself (413 past the body limit, 404 for an
  // unknown path) with an empty body; give them the OpenAI error shape.
  const size_t max_body = config_.max_body_bytes;
  http.set_error_handler([max_body](const httplib::Request& req, httplib::Response& res) {
    if (!res.body.empty()) return;
    if (res.status == 413) {
      SendError(res, PayloadTooLarge(max_body));
    } else if (res.status == 404) {
      SendError(res, NotFoundRoute(req.method + " " + req.path));
    } else {
      ApiError e = InvalidParam("", "bad request (HTTP " + std::to_string(res.status) + ")");
      e.http_status = res.status;
      SendError(res, e);
    }
  });
  http.set_exception_handler(
      [](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
        std::string what = "unexpected exception";
        try {
          if (ep) std::rethrow_exception(ep);
        } catch (const std::exception& e) {
          what = e.what();
        } catch (...) {
        }
        SendError(res, InternalServerError(what));
      });

  // CORS: every routed answer to an allowed origin carries its headers
  // (errors included, or a browser script cannot read them); preflights are
  // answered for any path without auth, as browsers send them without keys.
  http.set_post_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    if (res.has_header("Access-Control-Allow-Origin")) return;
    for (const auto& [k, v] : cors_->ResponseHeaders(req.get_header_value("Origin"))) {
      res.set_header(k, v);
    }
  });
  http.Options(R"(/.*)", [this](const httplib::Request& req, httplib::Response& res) {
    res.set_header("Allow", "GET, POST, OPTIONS");
    if (!req.has_header("Origin") || !req.has_header("Access-Control-Request-Method")) {
      res.status = 204;
      return;
    }
    HeaderList h = cors_->PreflightHeaders(req.get_header_value("Origin"));
    if (h.empty()) {
      ApiError e = InvalidParam("", "CORS: this origin is not allowed (see --allowed-origins)",
                                "origin_not_allowed");
      e.http_status = 403;
      return SendError(res, e);
    }
    for (const auto& [k, v] : h) res.set_header(k, v);
    res.status = 204;
  });

  // POST routes: the key is checked before the body is read, and the body
  // is read under --max-body-bytes whatever its transfer coding.
  auto post = [this, max_body](const std::string& path, auto handler) {
    http_->Post(path, [this, max_body, handler](const httplib::Request& req, httplib::Response& res,
                                                const httplib::ContentReader& reader) {
      if (!auth_->Authenticate(req.get_header_value("Authorization"))) {
        SendError(res, Unauthorized());
        res.set_header("Connection", "close");
        return;
      }
      std::optional<std::string> body = ReadLimitedBody(req, res, reader, max_body);
      if (body) handler(req, std::string_view(*body), res);
    });
  };
  post("/v1/chat/completions",
       [this](const httplib::Request& req, std::string_view body, httplib::Response& res) {
         generation_->Handle(Endpoint::kChat, req, body, res);
       });
  post("/v1/completions",
       [this](const httplib::Request& req, std::string_view body, httplib::Response& res) {
         generation_->Handle(Endpoint::kCompletion, req, body, res);
       });
  post("/v1/embeddings",
       [this](const httplib::Request& req, std::string_view body, httplib::Response& res) {
         if (config_.embedding_size == 0) {
           ApiError e;
           e.http_status = 404;
           e.message = "this server has no embeddings";
           e.code = "not_found";
           return SendError(res, e);
         }
         embeddings_->Handle(req, body, res);
       });

  auto model_json = [this] {
    return Json{{"id", config_.model_id},
                {"object", "model"},
                {"created", 0},
                {"owned_by", "kvserve"},
                {"root", config_.model_id},
                {"parent", nullptr},
                {"max_model_len", config_.max_model_len}};
  };
  http.Get("/v1/models", [this, model_json](const httplib::Request& req, httplib::Response& res) {
    if (!auth_->Authenticate(req.get_header_value("Authorization"))) {
      return SendError(res, Unauthorized());
    }
    SendJson(res, {{"object", "list"}, {"data", Json::array({model_json()})}});
  });
  http.Get(R"(/v1/models/(.+))",
           [this, model_json](const httplib::Request& req, httplib::Response& res) {
             if (!auth_->Authenticate(req.get_header_value("Authorization"))) {
               return SendError(res, Unauthorized());
             }
             if (req.matches[1] != config_.model_id) {
               return SendError(res, ModelNotFound(req.matches[1]));
             }
             SendJson(res, model_json());
           });

  InstallWebRoutes(http, engine_, auth_.get());

  http.Get("/health", [this](const httplib::Request&, httplib::Response& res) {
    if (draining_.load()) return SendError(res, Unavailable("the server is shutting down"));
    SendJson(res, {{"status", "ok"}});
  });
  http.Get("/metrics", [this](const httplib::Request& req, httplib::Response& res) {
    if (!config_.metrics_public && !auth_->Authenticate(req.get_header_value("Authorization"))) {
      return SendError(res, Unauthorized());
    }
    res.set_content(metrics_->Render(engine_->Stats()), "text/plain; version=0.0.4");
  });

  // vLLM's /tokenize: {"prompt": text} or {"messages": [...]} ->
  // {"count", "max_model_len", "tokens"}.
  post("/tokenize", [this](const httplib::Request& req, std::string_view body_text,
                          httplib::Response& res) {
    if (!auth_->Authenticate(req.get_header_value("Authorization"))) {
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
    SendJson(res,
             {{"count", ids.size()}, {"max_model_len", config_.max_model_len}, {"tokens", ids}});
  });
  post("/detokenize", [this](const httplib::Request& req, std::string_view body_text,
                            httplib::Response& res) {
    if (!auth_->Authenticate(req.get_header_value("Authorization"))) {
      return SendError(res, Unauthorized());
    }
    std::optional<Json> body = ParseObject(body_text, res, config_.parse_limits.max_json_depth);
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
        return SendError(res,
                         InvalidParam("tokens", "invalid token id " + DescribeJsonValue(t), "invalid_value"));
      }
      ids.push_back(static_cast<TokenId>(t.get<int64_t>()));
    }
    // Special tokens appear as their text, as vLLM and llama.cpp do here.
    SendJson(res, {{"prompt", tokenizer_->Decode(ids, /*render_special=*/true)}});
  });
}

StatusOr<int> OpenAiServer::Bind() {
  int port = config_.port;
  if (port == 0) {
    port = http_->bind_to_any_port(config_.host);
    if (port <= 0) return UnavailableError("cannot bind " + config_.host + " to any port");
  } else if (!http_->bind_to_port(config_.host, port)) {
    return UnavailableError("cannot bind " + config_.host + ":" + std::to_string(port) +
                            " (in use?)");
  }
  KVS_RETURN_IF_ERROR(WidenListenBacklog(listen_fd_, kListenBacklog));
  return port;
}

Status OpenAiServer::Serve() {
  if (!http_->listen_after_bind() && !draining_.load()) {
    return InternalError("the HTTP server stopped unexpectedly");
  }
  return Status::Ok();
}

void OpenAiServer::BeginShutdown() { draining_.store(true); }

void OpenAiServer::Stop() {
  draining_.store(true);
  // In-flight streams end once the engine has aborted them; give them a
  // bounded moment to send their last chunks and [DONE].
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::seconds(config_.shutdown_timeout_s);
  while (limiter_->in_flight() > 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  http_->stop();
}

}  // namespace kvs::server
