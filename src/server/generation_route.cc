#include "server/generation_route.h"

#include <algorithm>
#include <ctime>
#include <optional>

#include "server/generation_session.h"
#include "server/openai_response.h"
#include "server/sse.h"
#include "server/structured_output.h"
#include "server/tool_output.h"

#include "grammar/gbnf.h"

namespace kvs::server {
namespace {

using Clock = std::chrono::steady_clock;

// A generation's answer, polled by the transport on the connection's I/O
// thread: SSE bytes as they come (streaming) or the whole JSON once done.
class GenerationBody final : public DeferredBody {
 public:
  GenerationBody(std::unique_ptr<GenerationSession> session,
                 std::unique_ptr<ConcurrencyLimiter::Slot> slot, EngineLoop* engine, bool streaming)
      : session_(std::move(session)), slot_(std::move(slot)), engine_(engine), streaming_(streaming) {}
  ~GenerationBody() override { Cancel(); }

  void SetWaker(std::shared_ptr<StreamListener> waker) override { session_->SetListener(waker); }

  bool Poll(std::string* out, int* status, std::string* content_type) override {
    if (done_) return true;
    if (streaming_) {
      // Everything there is now; NextSse(0) never waits.
      while (!session_->finished()) {
        std::string bytes = session_->NextSse(std::chrono::milliseconds(0));
        if (bytes.empty()) break;
        *out += bytes;
      }
      if (!session_->finished()) return false;
    } else {
      if (!session_->CollectStep(std::chrono::milliseconds(0))) return false;
      ApiOr<nlohmann::json> body = session_->CollectResult();
      *content_type = "application/json";
      if (body.ok()) {
        *out = DumpJson(body.value());
      } else {
        *status = body.error().http_status;
        *out = DumpJson(body.error().ToJson());
      }
    }
    // The engine is done with a finished request: its slot is given back
    // before the final event goes out, or a client that sends its next
    // request on [DONE] finds the slot still taken (a spurious 429, issue 16).
    done_ = true;
    session_->SetListener(nullptr);
    slot_.reset();
    return true;
  }

  void Cancel() override {
    if (done_) return;
    done_ = true;
    session_->SetListener(nullptr);
    for (RequestId id : session_->ids()) engine_->Abort(id);
    session_->OnClientGone();
    slot_.reset();
  }

  std::string Heartbeat() override { return streaming_ ? SseComment("keep-alive") : ""; }

 private:
  std::unique_ptr<GenerationSession> session_;
  std::unique_ptr<ConcurrencyLimiter::Slot> slot_;
  EngineLoop* engine_;
  const bool streaming_;
  bool done_ = false;
};

StatusOr<std::vector<std::shared_ptr<OutputStream>>> SubmitImport(EngineLoop* engine,
                                                                  const std::string& source,
                                                                  GenerationRequest gen) {
  KVS_ASSIGN_OR_RETURN(std::shared_ptr<OutputStream> stream,
                       engine->SubmitImport(source, std::move(gen)));
  return std::vector<std::shared_ptr<OutputStream>>{std::move(stream)};
}

}  // namespace

void SendError(HttpResponse& res, const ApiError& error) {
  res.status = error.http_status;
  if (error.retry_after_s > 0) res.SetHeader("Retry-After", std::to_string(error.retry_after_s));
  // RFC 6750: a 401 names the scheme the client must use.
  if (error.http_status == 401) res.SetHeader("WWW-Authenticate", "Bearer");
  res.SetContent(DumpJson(error.ToJson()), "application/json");
}

GenerationRoute::GenerationRoute(const ServerConfig* config, EngineLoop* engine,
                                 const Tokenizer* tokenizer, const ChatEncoder* encode_chat,
                                 const ApiKeyAuth* auth, ConcurrencyLimiter* limiter,
                                 ServerMetrics* metrics, const std::atomic<bool>* draining)
    : config_(config),
      engine_(engine),
      tokenizer_(tokenizer),
      encode_chat_(encode_chat),
      auth_(auth),
      limiter_(limiter),
      metrics_(metrics),
      draining_(draining) {
  // Unknown characters become one UNK token each: up to 4 bytes of UTF-8.
  size_t longest = 4;
  for (TokenId id = 0; id < tokenizer_->n_vocab(); ++id) {
    longest = std::max(longest, tokenizer_->Piece(/*prev=*/0, id).size());
  }
  // Twice the bound: normalisation (e.g. the dummy-prefix space) may add
  // bytes; the point is only that the work stays proportional to the
  // context, not to the body limit.
  max_prompt_bytes_ = 2 * longest * (static_cast<size_t>(config_->max_model_len) + 1);
}

namespace {

// Whether the request's prompt text is refused untokenized (/tokenize
// does not ask: it may count texts longer than the context).
std::optional<ApiError> PromptTooLong(const OpenAiRequest& request, size_t max_bytes,
                                      int max_model_len) {
  size_t bytes = 0;
  for (const OpenAiRequest::Prompt& p : request.prompts) bytes = std::max(bytes, p.text.size());
  for (const InputMessage& m : request.messages) bytes += m.content.size();
  if (bytes <= max_bytes) return std::nullopt;
  const char* param = request.endpoint == Endpoint::kChat ? "messages" : "prompt";
  return InvalidParam(param,
                      "the prompt (" + std::to_string(bytes) + " bytes) cannot fit in the " +
                          std::to_string(max_model_len) + "-token context",
                      "context_length_exceeded");
}

}  // namespace

ApiOr<std::vector<TokenId>> GenerationRoute::PromptIds(const OpenAiRequest& request,
                                                       size_t index) const {
  std::vector<TokenId> ids;
  if (request.endpoint == Endpoint::kChat) {
    StatusOr<std::vector<TokenId>> encoded = (*encode_chat_)(request);
    if (!encoded.ok()) return InvalidParam("messages", encoded.status().message());
    ids = std::move(encoded).value();
  } else if (request.prompts.at(index).is_ids) {
    ids = request.prompts[index].ids;
    for (TokenId id : ids) {
      if (id >= tokenizer_->n_vocab()) {
        return InvalidParam("prompt",
                            "token id " + std::to_string(id) + " is outside the vocabulary (" +
                                std::to_string(tokenizer_->n_vocab()) + " tokens)",
                            "invalid_value");
      }
    }
  } else {
    // BOS, then the dummy-prefix space (as `kvserve generate`). Special tokens spelled in the text are those tokens, as llama-server
    // and vLLM (Hugging Face's tokenizers) read a prompt: a client that
    // renders its own chat template sends "<|im_start|>..." and means it.
    ids = tokenizer_->EncodeWithSpecial(request.prompts[index].text, /*add_bos=*/true);
  }
  if (ids.empty()) return InvalidParam("prompt", "the prompt encodes to no tokens");
  for (TokenId id : request.stop_token_ids) {
    if (id >= tokenizer_->n_vocab()) {
      return InvalidParam("stop_token_ids",
                          "token id " + std::to_string(id) + " is outside the vocabulary (" +
                              std::to_string(tokenizer_->n_vocab()) + " tokens)",
                          "invalid_value");
    }
  }
  for (const LogitBias& b : request.sampling.logit_bias) {
    if (b.id >= tokenizer_->n_vocab()) {
      return InvalidParam("logit_bias",
                          "token id " + std::to_string(b.id) + " is outside the vocabulary (" +
                              std::to_string(tokenizer_->n_vocab()) + " tokens)",
                          "invalid_value");
    }
  }
  return ids;
}

void GenerationRoute::Handle(Endpoint endpoint, const HttpRequest& req, std::string_view body,
                             HttpResponse& res) {
  const Clock::time_point arrival = Clock::now();
  std::optional<std::string> salt = auth_->Authenticate(req.Header("Authorization"));
  if (!salt) return SendError(res, Unauthorized());
  if (draining_->load()) return SendError(res, Unavailable("the server is shutting down"));

  nlohmann::ordered_json document;  // the body, parsed once
  ApiOr<OpenAiRequest> parsed = ParseOpenAiRequest(endpoint, body, config_->parse_limits,
                                                    config_->default_sampling, &document);
  if (!parsed.ok()) return SendError(res, parsed.error());
  const OpenAiRequest& request = parsed.value();
  if (!request.model.empty() && request.model != config_->model_id) {
    return SendError(res, ModelNotFound(request.model));
  }
  if (auto e = PromptTooLong(request, max_prompt_bytes_, config_->max_model_len)) {
    return SendError(res, *e);
  }
  ApiOr<std::shared_ptr<const Grammar>> grammar = ReadOutputGrammar(document);
  if (!grammar.ok()) return SendError(res, grammar.error());
  std::shared_ptr<const Grammar> output_grammar = grammar.value();
  // Tools: the reply is searched for calls; tool_choice required or a named
  // function constrains it to a valid call.
  const bool tools = endpoint == Endpoint::kChat && !request.tools_json.empty() &&
                     request.tool_choice.mode != ToolChoice::Mode::kNone;
  if (tools && (request.tool_choice.mode == ToolChoice::Mode::kRequired ||
                request.tool_choice.mode == ToolChoice::Mode::kFunction)) {
    if (output_grammar != nullptr) {
      return SendError(res, InvalidParam("tool_choice",
                                         "a required tool call and a response_format both constrain the "
                                         "output; send one",
                                         "invalid_value"));
    }
    StatusOr<std::string> gbnf = ToolCallGrammar(config_->tool_format, request.tools_json, request.tool_choice,
                                                 request.parallel_tool_calls);
    if (!gbnf.ok()) return SendError(res, InvalidParam("tools", gbnf.status().message(), "invalid_value"));
    StatusOr<Grammar> g = ParseGbnf(*gbnf);
    if (!g.ok()) return SendError(res, InvalidParam("tools", g.status().message(), "invalid_value"));
    output_grammar = std::make_shared<const Grammar>(*std::move(g));
  }
  // Every prompt (a completions batch has several) encoded and checked
  // before any is submitted.
  const size_t n_prompts = endpoint == Endpoint::kChat ? 1 : request.prompts.size();
  std::vector<std::vector<TokenId>> prompts;
  std::vector<int> max_tokens_of;
  std::vector<std::string> echo_texts;  // per prompt, for echo
  std::vector<TokenId> first_tokens;
  for (size_t i = 0; i < n_prompts; ++i) {
    ApiOr<std::vector<TokenId>> prompt = PromptIds(request, i);
    if (!prompt.ok()) return SendError(res, prompt.error());
    const int n_prompt = static_cast<int>(prompt.value().size());
    // OpenAI's legacy completions default to 16 new tokens; chat to whatever
    // the context leaves.
    int max_tokens = request.max_tokens;
    if (max_tokens < 0) {
      max_tokens = endpoint == Endpoint::kCompletion ? 16 : config_->max_model_len - n_prompt;
    }
    if (n_prompt >= config_->max_model_len || n_prompt + max_tokens > config_->max_model_len) {
      ApiError e = ContextLengthExceeded(n_prompt, std::max(max_tokens, 1), config_->max_model_len);
      if (endpoint == Endpoint::kCompletion) e.param = "prompt";
      return SendError(res, e);
    }
    first_tokens.push_back(prompt.value().front());
    if (request.echo) {
      const OpenAiRequest::Prompt& p = request.prompts[i];
      echo_texts.push_back(p.is_ids ? tokenizer_->Decode(p.ids) : p.text);
    }
    prompts.push_back(std::move(prompt).value());
    max_tokens_of.push_back(max_tokens);
  }

  std::unique_ptr<ConcurrencyLimiter::Slot> slot = limiter_->TryAcquire();
  if (!slot) return SendError(res, TooManyRequests(limiter_->max_in_flight()));

  // Each prompt is one engine request of best_of choices (n returned).
  const bool best_of = request.best_of > request.n;
  // A router's request for a decode worker names the prefill worker that
  // computes its prompt's KV. What a transfer cannot carry (several choices
  // or prompts, prompt logprobs, which need every prompt position computed
  // here) runs colocated, as does everything on a worker without prefill
  // links.
  std::string disagg_source = req.Header(kPrefillWorkerHeader);
  if (prompts.size() != 1 || request.best_of != 1 || request.prompt_logprobs >= 0 ||
      (request.echo && request.sampling.top_logprobs >= 0) || !engine_->takes_imports()) {
    disagg_source.clear();
  }
  res.SetHeader(std::string(kDisaggModeHeader), disagg_source.empty() ? "colocated" : "imported");
  std::vector<std::shared_ptr<OutputStream>> streams;
  std::vector<TokenId> last_prompt_tokens;
  for (size_t i = 0; i < prompts.size(); ++i) {
    GenerationRequest gen;
    gen.prompt = std::move(prompts[i]);
    gen.sampling = request.sampling;
    gen.stop.max_tokens = max_tokens_of[i];
    gen.stop.stop_strings = request.stop;
    gen.stop.ignore_eos = request.ignore_eos;
    gen.stop.min_tokens = std::min(request.min_tokens, max_tokens_of[i]);
    gen.stop.stop_token_ids = request.stop_token_ids;
    gen.stop.include_stop_str_in_output = request.include_stop_str_in_output;
    gen.priority = ClampPriority(request.priority, *config_);
    gen.cache_salt = *salt;
    gen.grammar = output_grammar;
    gen.n = request.best_of;
    // Prompt scoring: echo with logprobs scores the prompt with the same
    // number of alternatives; vLLM's prompt_logprobs asks for it directly.
    gen.prompt_logprobs = std::max(request.prompt_logprobs,
                                   request.echo && request.sampling.top_logprobs >= 0 ? request.sampling.top_logprobs : -1);
    if (gen.stop.max_tokens == 0) gen.stop.max_tokens = 1;  // echo alone: one token, not shown
    // best_of ranks by cumulative logprob: the engine then reports each
    // sampled token's logprob (the response shows them only when asked).
    if (best_of && gen.sampling.top_logprobs < 0) gen.sampling.top_logprobs = 0;
    const TokenId last = gen.prompt.back();
    StatusOr<std::vector<std::shared_ptr<OutputStream>>> submitted =
        disagg_source.empty() ? engine_->SubmitChoices(std::move(gen))
                              : SubmitImport(engine_, disagg_source, std::move(gen));
    if (!submitted.ok()) {
      for (const auto& s : streams) engine_->Abort(s->id());
      return SendError(res, FromStatus(submitted.status()));
    }
    for (auto& s : *submitted) {
      streams.push_back(std::move(s));
      last_prompt_tokens.push_back(last);
    }
  }

  ResponseContext ctx;
  ctx.endpoint = endpoint;
  ctx.id = MakeResponseId(endpoint, streams[0]->id());
  ctx.created = static_cast<int64_t>(std::time(nullptr));
  ctx.model = config_->model_id;
  ctx.logprobs = request.sampling.top_logprobs >= 0;
  auto session = std::make_unique<GenerationSession>(
      std::move(ctx), std::move(streams), tokenizer_, std::move(last_prompt_tokens),
      request.include_usage, metrics_, arrival, request.best_of, request.n);
  if (tools) session->EnableToolCalls(config_->tool_format);
  if (request.echo || request.prompt_logprobs >= 0) {
    GenerationSession::EchoOptions echo;
    echo.echo = request.echo;
    echo.texts = std::move(echo_texts);
    echo.first_tokens = std::move(first_tokens);
    echo.drop_generated = request.max_tokens == 0;
    echo.prompt_logprobs = request.prompt_logprobs >= 0;
    session->EnableEcho(std::move(echo));
  }
  if (request.stream) {
    res.SetHeader("Cache-Control", "no-cache");
    res.SetHeader("X-Accel-Buffering", "no");
    res.content_type = "text/event-stream";
  }
  res.streaming = request.stream;
  res.deferred = std::make_shared<GenerationBody>(std::move(session), std::move(slot), engine_,
                                                  request.stream);
}

}  // namespace kvs::server
