#include "server/embeddings_route.h"

#include <cstring>
#include <nlohmann/json.hpp>

#include "server/api_error.h"
#include "server/generation_route.h"
#include "server/json_guard.h"
#include "server/openai_response.h"

namespace kvs::server {
namespace {

using Json = nlohmann::json;

std::string Base64(const std::vector<float>& v);

// The embeddings' answer once every input's request has ended, polled by
// the transport (never waits).
class EmbeddingBody final : public DeferredBody {
 public:
  EmbeddingBody(std::vector<std::shared_ptr<OutputStream>> streams,
                std::unique_ptr<ConcurrencyLimiter::Slot> slot, EngineLoop* engine,
                bool base64, std::string model_id, int prompt_tokens)
      : streams_(std::move(streams)),
        slot_(std::move(slot)),
        engine_(engine),
        base64_(base64),
        model_id_(std::move(model_id)),
        prompt_tokens_(prompt_tokens) {}
  ~EmbeddingBody() override { Cancel(); }

  void SetWaker(std::shared_ptr<StreamListener> waker) override {
    for (const auto& s : streams_) s->SetListener(waker);
  }

  bool Poll(std::string* out, int* status, std::string* content_type) override {
    if (done_) return true;
    for (const auto& s : streams_) {
      if (!s->finished()) return false;
    }
    Finish();
    *content_type = "application/json";
    Json data = Json::array();
    for (size_t i = 0; i < streams_.size(); ++i) {
      const StreamDelta d = streams_[i]->WaitAll();  // finished: returns at once
      if (d.finish_reason != FinishReason::kStop) {
        const ApiError e = d.finish_reason == FinishReason::kError
                               ? FromStatus(d.error)
                               : Unavailable("the request was aborted");
        *status = e.http_status;
        *out = DumpJson(e.ToJson());
        return true;
      }
      Json e = {{"object", "embedding"}, {"index", i}};
      if (base64_) {
        e["embedding"] = Base64(d.embedding);
      } else {
        e["embedding"] = d.embedding;
      }
      data.push_back(std::move(e));
    }
    const Json body = {{"object", "list"},
                       {"data", std::move(data)},
                       {"model", model_id_},
                       {"usage", {{"prompt_tokens", prompt_tokens_}, {"total_tokens", prompt_tokens_}}}};
    *out = DumpJson(body);
    return true;
  }

  void Cancel() override {
    if (done_) return;
    for (const auto& s : streams_) {
      if (!s->finished()) engine_->Abort(s->id());
    }
    Finish();
  }

 private:
  void Finish() {
    done_ = true;
    for (const auto& s : streams_) s->SetListener(nullptr);
    slot_.reset();
  }

  std::vector<std::shared_ptr<OutputStream>> streams_;
  std::unique_ptr<ConcurrencyLimiter::Slot> slot_;
  EngineLoop* engine_;
  const bool base64_;
  const std::string model_id_;
  const int prompt_tokens_;
  bool done_ = false;
};

std::string Base64(const std::vector<float>& v) {
  static const char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string bytes(v.size() * sizeof(float), '\0');
  std::memcpy(bytes.data(), v.data(), bytes.size());  // x86 and ARM: little-endian, as OpenAI's
  std::string out;
  for (size_t i = 0; i < bytes.size(); i += 3) {
    uint32_t n = static_cast<uint8_t>(bytes[i]) << 16;
    if (i + 1 < bytes.size()) n |= static_cast<uint8_t>(bytes[i + 1]) << 8;
    if (i + 2 < bytes.size()) n |= static_cast<uint8_t>(bytes[i + 2]);
    out += kAlphabet[(n >> 18) & 63];
    out += kAlphabet[(n >> 12) & 63];
    out += i + 1 < bytes.size() ? kAlphabet[(n >> 6) & 63] : '=';
    out += i + 2 < bytes.size() ? kAlphabet[n & 63] : '=';
  }
  return out;
}

// The inputs as token ids, or a 400 naming `input`.
ApiOr<std::vector<std::vector<TokenId>>> Inputs(const Json& body, const Tokenizer& tok,
                                                const ParseLimits& limits, int max_len) {
  auto bad = [](const std::string& m) { return InvalidParam("input", m, "invalid_value"); };
  const auto it = body.find("input");
  if (it == body.end() || it->is_null()) return InvalidParam("input", "'input' is required", "missing_required");
  std::vector<Json> items;
  if (it->is_string()) {
    items.push_back(*it);
  } else if (it->is_array() && !it->empty() && (*it)[0].is_number_integer()) {
    items.push_back(*it);  // one token array
  } else if (it->is_array() && !it->empty()) {
    if (it->size() > static_cast<size_t>(limits.max_prompts)) {
      return bad("at most " + std::to_string(limits.max_prompts) + " inputs in one request");
    }
    items.assign(it->begin(), it->end());
  } else {
    return InvalidParam("input", "'input' must be a string, an array of strings or token arrays",
                        "invalid_type");
  }
  std::vector<std::vector<TokenId>> out;
  for (const Json& item : items) {
    std::vector<TokenId> ids;
    if (item.is_string()) {
      if (item.get<std::string>().size() > static_cast<size_t>(max_len) * 64) {
        return bad("an input cannot fit the " + std::to_string(max_len) + "-token context");
      }
      ids = tok.Encode(item.get<std::string>(), /*add_bos=*/true);
    } else if (item.is_array()) {
      if (item.size() > static_cast<size_t>(limits.max_prompt_ids)) return bad("a token array is too long");
      for (const Json& id : item) {
        if (!id.is_number_integer() || id.get<int64_t>() < 0 || id.get<int64_t>() >= tok.n_vocab()) {
          return bad("token ids must be integers in [0, " + std::to_string(tok.n_vocab()) + ")");
        }
        ids.push_back(static_cast<TokenId>(id.get<int64_t>()));
      }
    } else {
      return InvalidParam("input", "each input must be a string or an array of token ids", "invalid_type");
    }
    if (ids.empty()) return bad("an input encodes to no tokens");
    if (static_cast<int>(ids.size()) >= max_len) {
      ApiError e = ContextLengthExceeded(static_cast<int>(ids.size()), 1, max_len);
      e.param = "input";
      return e;
    }
    out.push_back(std::move(ids));
  }
  return out;
}

}  // namespace

EmbeddingsRoute::EmbeddingsRoute(const ServerConfig* config, EngineLoop* engine,
                                 const Tokenizer* tokenizer, int hidden_size,
                                 const ApiKeyAuth* auth, ConcurrencyLimiter* limiter,
                                 const std::atomic<bool>* draining)
    : config_(config),
      engine_(engine),
      tokenizer_(tokenizer),
      hidden_size_(hidden_size),
      auth_(auth),
      limiter_(limiter),
      draining_(draining) {}

void EmbeddingsRoute::Handle(const HttpRequest& req, std::string_view body_text,
                             HttpResponse& res) {
  std::optional<std::string> salt = auth_->Authenticate(req.Header("Authorization"));
  if (!salt) return SendError(res, Unauthorized());
  if (draining_->load()) return SendError(res, Unavailable("the server is shutting down"));
  const int max_depth = config_->parse_limits.max_json_depth;
  if (JsonNestingDepth(body_text, max_depth) > max_depth) return SendError(res, JsonTooDeep(max_depth));
  const Json body = Json::parse(body_text, nullptr, /*allow_exceptions=*/false);
  if (body.is_discarded()) {
    return SendError(res, InvalidParam("", "malformed JSON in the request body", "invalid_json"));
  }
  if (!body.is_object()) return SendError(res, InvalidParam("", "the body must be a JSON object", "invalid_type"));
  if (body.contains("model") && body["model"].is_string() && !body["model"].get<std::string>().empty() &&
      body["model"].get<std::string>() != config_->model_id) {
    return SendError(res, ModelNotFound(body["model"].get<std::string>()));
  }
  std::string format = "float";
  if (body.contains("encoding_format") && !body["encoding_format"].is_null()) {
    if (!body["encoding_format"].is_string() ||
        (body["encoding_format"] != "float" && body["encoding_format"] != "base64")) {
      return SendError(res, InvalidParam("encoding_format", "'encoding_format' must be float or base64",
                                         "invalid_value"));
    }
    format = body["encoding_format"].get<std::string>();
  }
  if (body.contains("dimensions") && !body["dimensions"].is_null() &&
      (!body["dimensions"].is_number_integer() || body["dimensions"].get<int64_t>() != hidden_size_)) {
    return SendError(res, InvalidParam("dimensions",
                                       "'dimensions' must be the model's width, " + std::to_string(hidden_size_) +
                                           " (embeddings are not truncated)",
                                       "unsupported_parameter"));
  }
  ApiOr<std::vector<std::vector<TokenId>>> inputs =
      Inputs(body, *tokenizer_, config_->parse_limits, config_->max_model_len);
  if (!inputs.ok()) return SendError(res, inputs.error());

  std::unique_ptr<ConcurrencyLimiter::Slot> slot = limiter_->TryAcquire();
  if (!slot) return SendError(res, TooManyRequests(limiter_->max_in_flight()));
  std::vector<std::shared_ptr<OutputStream>> streams;
  int prompt_tokens = 0;
  for (std::vector<TokenId>& ids : inputs.value()) {
    prompt_tokens += static_cast<int>(ids.size());
    GenerationRequest gen;
    gen.prompt = std::move(ids);
    gen.stop.max_tokens = 1;
    gen.embedding = config_->embedding_pooling;
    gen.priority = ClampPriority(0, *config_);
    gen.cache_salt = *salt;
    StatusOr<std::shared_ptr<OutputStream>> s = engine_->Submit(std::move(gen));
    if (!s.ok()) {
      for (const auto& done : streams) engine_->Abort(done->id());
      return SendError(res, FromStatus(s.status()));
    }
    streams.push_back(*std::move(s));
  }
  res.deferred = std::make_shared<EmbeddingBody>(std::move(streams), std::move(slot), engine_,
                                                 format == "base64", config_->model_id,
                                                 prompt_tokens);
}

}  // namespace kvs::server
