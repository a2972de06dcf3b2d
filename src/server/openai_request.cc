#include "server/openai_request.h"

#include <cmath>
#include <cstdint>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>

#include "server/json_guard.h"
#include "server/tool_request.h"

namespace kvs::server {
namespace {

using Json = nlohmann::json;
using MaybeError = std::optional<ApiError>;

// A field that is absent or null counts as not given (OpenAI SDKs send null
// for unset optional fields).
const Json* Field(const Json& body, const char* key) {
  auto it = body.find(key);
  if (it == body.end() || it->is_null()) return nullptr;
  return &*it;
}

std::string TypeError(const char* key, const char* want, const Json& got) {
  return std::string("'") + key + "' must be " + want + ", got " + got.type_name();
}

MaybeError ReadNumber(const Json& body, const char* key, double lo, double hi, bool lo_open,
                      float* out) {
  const Json* v = Field(body, key);
  if (v == nullptr) return std::nullopt;
  if (!v->is_number()) return InvalidParam(key, TypeError(key, "a number", *v), "invalid_type");
  double x = v->get<double>();
  if (!std::isfinite(x) || x < lo || x > hi || (lo_open && x == lo)) {
    return InvalidParam(key,
                        std::string("'") + key + "' must be in " + (lo_open ? "(" : "[") +
                            Json(lo).dump() + ", " + Json(hi).dump() + "], got " + v->dump(),
                        "invalid_value");
  }
  *out = static_cast<float>(x);
  return std::nullopt;
}

// Integers: JSON integers, or floats with an integral value (2.0).
MaybeError ReadInt(const Json& body, const char* key, int64_t lo, int64_t hi, int64_t* out) {
  const Json* v = Field(body, key);
  if (v == nullptr) return std::nullopt;
  bool integral =
      v->is_number_integer() ||
      (v->is_number_float() && std::isfinite(v->get<double>()) &&
       std::floor(v->get<double>()) == v->get<double>() && std::fabs(v->get<double>()) < 9e15);
  if (!integral) return InvalidParam(key, TypeError(key, "an integer", *v), "invalid_type");
  int64_t x =
      v->is_number_unsigned()
          ? static_cast<int64_t>(std::min<uint64_t>(v->get<uint64_t>(), INT64_MAX))
          : (v->is_number_integer() ? v->get<int64_t>() : static_cast<int64_t>(v->get<double>()));
  if (x < lo || x > hi) {
    return InvalidParam(key,
                        std::string("'") + key + "' must be in [" + std::to_string(lo) + ", " +
                            std::to_string(hi) + "], got " + v->dump(),
                        "invalid_value");
  }
  *out = x;
  return std::nullopt;
}

MaybeError ReadBool(const Json& body, const char* key, bool* out) {
  const Json* v = Field(body, key);
  if (v == nullptr) return std::nullopt;
  if (!v->is_boolean()) return InvalidParam(key, TypeError(key, "a boolean", *v), "invalid_type");
  *out = v->get<bool>();
  return std::nullopt;
}

MaybeError ReadString(const Json& body, const char* key, std::string* out) {
  const Json* v = Field(body, key);
  if (v == nullptr) return std::nullopt;
  if (!v->is_string()) return InvalidParam(key, TypeError(key, "a string", *v), "invalid_type");
  *out = v->get<std::string>();
  return std::nullopt;
}

#define KVS_API_RETURN_IF_ERROR(expr) \
  do {                                \
    MaybeError kvs_err_ = (expr);     \
    if (kvs_err_) return *kvs_err_;   \
  } while (0)

// content: a string, null (an assistant turn with tool calls only) or an
// array of {"type": "text", "text": ...} parts.
MaybeError ReadContent(const Json& msg, size_t i, std::string* out) {
  std::string param = "messages[" + std::to_string(i) + "].content";
  auto it = msg.find("content");
  if (it == msg.end() || it->is_null()) return std::nullopt;
  if (it->is_string()) {
    *out = it->get<std::string>();
    return std::nullopt;
  }
  if (!it->is_array()) {
    return InvalidParam(
        param,
        "'content' must be a string or an array of text parts, got " + std::string(it->type_name()),
        "invalid_type");
  }
  for (size_t k = 0; k < it->size(); ++k) {
    const Json& part = (*it)[k];
    if (!part.is_object() || !part.contains("type") || part["type"] != "text" ||
        !part.contains("text") || !part["text"].is_string()) {
      return InvalidParam(param, "only {\"type\": \"text\", \"text\": string} parts are supported",
                          "invalid_value");
    }
    if (k > 0) *out += "\n";  // text parts are joined with "\n", as vLLM does
    *out += part["text"].get<std::string>();
  }
  return std::nullopt;
}

MaybeError ReadMessages(const Json& body, std::vector<InputMessage>* out) {
  const Json* v = Field(body, "messages");
  if (v == nullptr) return InvalidParam("messages", "'messages' is required", "missing_required");
  if (!v->is_array()) {
    return InvalidParam("messages", TypeError("messages", "an array", *v), "invalid_type");
  }
  if (v->empty()) return InvalidParam("messages", "'messages' must not be empty", "invalid_value");
  for (size_t i = 0; i < v->size(); ++i) {
    const Json& m = (*v)[i];
    std::string param = "messages[" + std::to_string(i) + "]";
    if (!m.is_object()) return InvalidParam(param, "a message must be an object", "invalid_type");
    auto role = m.find("role");
    if (role == m.end() || !role->is_string()) {
      return InvalidParam(param + ".role", "a message needs a string 'role'", "invalid_type");
    }
    std::string r = role->get<std::string>();
    if (r != "system" && r != "developer" && r != "user" && r != "assistant" && r != "tool") {
      return InvalidParam(param + ".role", "unknown role '" + r + "'", "invalid_value");
    }
    InputMessage msg;
    msg.role = r == "developer" ? "system" : r;
    KVS_API_RETURN_IF_ERROR(ReadContent(m, i, &msg.content));
    KVS_API_RETURN_IF_ERROR(ReadMessageToolFields(m, i, &msg));
    out->push_back(std::move(msg));
  }
  return std::nullopt;
}

MaybeError ReadTokenIds(const Json& arr, const ParseLimits& limits, std::vector<TokenId>* out) {
  if (arr.empty())
    return InvalidParam("prompt", "a token-id prompt must not be empty", "invalid_value");
  if (arr.size() > static_cast<size_t>(limits.max_prompt_ids)) {
    return InvalidParam("prompt", "prompt has too many token ids", "context_length_exceeded");
  }
  for (const Json& t : arr) {
    if (!t.is_number_integer() || t.get<int64_t>() < 0 ||
        t.get<int64_t>() > std::numeric_limits<TokenId>::max()) {
      return InvalidParam("prompt", "token ids must be non-negative integers, got " + DescribeJsonValue(t),
                          "invalid_value");
    }
    out->push_back(static_cast<TokenId>(t.get<int64_t>()));
  }
  return std::nullopt;
}

// prompt: "text", [ids...], ["text"] or [[ids...]]. Several prompts in one
// request (OpenAI's batch form) are refused: one request, one choice.
// prompt: a string, an array of token ids, or a batch: an array of strings
// or of token-id arrays (one choice set per prompt, in order).
MaybeError ReadPrompt(const Json& body, const ParseLimits& limits, OpenAiRequest* req) {
  const Json* v = Field(body, "prompt");
  if (v == nullptr) return InvalidParam("prompt", "'prompt' is required", "missing_required");
  const char* kWant = "a string, an array of token ids, or an array of those";
  if (v->is_string()) {
    req->prompts.push_back({v->get<std::string>(), {}, false});
    return std::nullopt;
  }
  if (!v->is_array()) return InvalidParam("prompt", TypeError("prompt", kWant, *v), "invalid_type");
  if (v->empty() || !((*v)[0].is_string() || (*v)[0].is_array())) {
    req->prompts.push_back({"", {}, true});
    return ReadTokenIds(*v, limits, &req->prompts.back().ids);
  }
  if (v->size() > static_cast<size_t>(limits.max_prompts)) {
    return InvalidParam("prompt", "at most " + std::to_string(limits.max_prompts) + " prompts in one request",
                        "invalid_value");
  }
  for (const Json& p : *v) {
    if (p.is_string()) {
      req->prompts.push_back({p.get<std::string>(), {}, false});
    } else if (p.is_array()) {
      req->prompts.push_back({"", {}, true});
      if (auto e = ReadTokenIds(p, limits, &req->prompts.back().ids)) return e;
    } else {
      return InvalidParam("prompt", TypeError("prompt", kWant, p), "invalid_type");
    }
  }
  return std::nullopt;
}

MaybeError ReadStop(const Json& body, const ParseLimits& limits, std::vector<std::string>* out) {
  const Json* v = Field(body, "stop");
  if (v == nullptr) return std::nullopt;
  if (v->is_string()) {
    if (!v->get<std::string>().empty()) out->push_back(v->get<std::string>());
    return std::nullopt;
  }
  if (!v->is_array()) {
    return InvalidParam("stop", TypeError("stop", "a string or an array of strings", *v),
                        "invalid_type");
  }
  if (v->size() > static_cast<size_t>(limits.max_stop_strings)) {
    return InvalidParam("stop",
                        "at most " + std::to_string(limits.max_stop_strings) + " stop strings",
                        "invalid_value");
  }
  for (const Json& s : *v) {
    if (!s.is_string()) return InvalidParam("stop", "stop entries must be strings", "invalid_type");
    if (!s.get<std::string>().empty()) out->push_back(s.get<std::string>());
  }
  return std::nullopt;
}

// logit_bias: {"<token id>": bias in [-100, 100], ...}. Ids are checked
// against the vocabulary by the route.
MaybeError ReadLogitBias(const Json& body, const ParseLimits& limits,
                         std::vector<LogitBias>* out) {
  const Json* v = Field(body, "logit_bias");
  if (v == nullptr) return std::nullopt;
  if (!v->is_object()) {
    return InvalidParam("logit_bias", TypeError("logit_bias", "an object", *v), "invalid_type");
  }
  if (v->size() > static_cast<size_t>(limits.max_logit_bias)) {
    return InvalidParam("logit_bias",
                        "at most " + std::to_string(limits.max_logit_bias) + " logit_bias entries",
                        "invalid_value");
  }
  for (const auto& [key, bias] : v->items()) {
    // A token id in decimal, as OpenAI's tokenizer ids are sent.
    const bool digits = !key.empty() && key.size() <= 9 &&
                        key.find_first_not_of("0123456789") == std::string::npos;
    if (!digits) {
      return InvalidParam("logit_bias",
                          "'logit_bias' keys must be token ids in decimal, got '" +
                              key.substr(0, 32) + "'",
                          "invalid_value");
    }
    if (!bias.is_number() || !std::isfinite(bias.get<double>()) || bias.get<double>() < -100 ||
        bias.get<double>() > 100) {
      return InvalidParam("logit_bias",
                          "'logit_bias' values must be numbers in [-100, 100] (token " + key + ")",
                          bias.is_number() ? "invalid_value" : "invalid_type");
    }
    out->push_back({static_cast<TokenId>(std::stol(key)), bias.get<float>()});
  }
  return std::nullopt;
}

MaybeError ReadSampling(const Json& body, Endpoint endpoint, const ParseLimits& limits,
                        OpenAiRequest* req) {
  SamplingParams& s = req->sampling;
  KVS_API_RETURN_IF_ERROR(ReadNumber(body, "temperature", 0.0, 2.0, false, &s.temperature));
  KVS_API_RETURN_IF_ERROR(ReadNumber(body, "top_p", 0.0, 1.0, true, &s.top_p));
  KVS_API_RETURN_IF_ERROR(ReadNumber(body, "min_p", 0.0, 1.0, false, &s.min_p));
  KVS_API_RETURN_IF_ERROR(
      ReadNumber(body, "presence_penalty", -2.0, 2.0, false, &s.presence_penalty));
  KVS_API_RETURN_IF_ERROR(
      ReadNumber(body, "frequency_penalty", -2.0, 2.0, false, &s.frequency_penalty));
  KVS_API_RETURN_IF_ERROR(
      ReadNumber(body, "repetition_penalty", 0.0, 10.0, true, &s.repetition_penalty));
  int64_t top_k = s.top_k;  // the default when absent
  KVS_API_RETURN_IF_ERROR(ReadInt(body, "top_k", -1, 1 << 30, &top_k));
  s.top_k = top_k < 0 ? 0 : static_cast<int>(top_k);  // vLLM: -1 means off
  if (Field(body, "seed") != nullptr) {
    int64_t seed = 0;
    KVS_API_RETURN_IF_ERROR(ReadInt(body, "seed", INT64_MIN, INT64_MAX, &seed));
    s.seed = static_cast<uint64_t>(seed);
    s.has_seed = true;
  }
  // Logprobs: chat takes logprobs: bool + top_logprobs: n; completions take
  // logprobs: n (the number of alternatives).
  if (endpoint == Endpoint::kChat) {
    bool logprobs = false;
    int64_t top = 0;
    KVS_API_RETURN_IF_ERROR(ReadBool(body, "logprobs", &logprobs));
    KVS_API_RETURN_IF_ERROR(ReadInt(body, "top_logprobs", 0, limits.max_top_logprobs, &top));
    if (Field(body, "top_logprobs") != nullptr && !logprobs) {
      return InvalidParam("top_logprobs", "'top_logprobs' requires 'logprobs': true",
                          "invalid_value");
    }
    s.top_logprobs = logprobs ? static_cast<int>(top) : -1;
  } else if (Field(body, "logprobs") != nullptr) {
    int64_t n = 0;
    KVS_API_RETURN_IF_ERROR(ReadInt(body, "logprobs", 0, limits.max_top_logprobs, &n));
    s.top_logprobs = static_cast<int>(n);
  }
  return ReadLogitBias(body, limits, &s.logit_bias);
}

MaybeError ReadStreaming(const Json& body, OpenAiRequest* req) {
  KVS_API_RETURN_IF_ERROR(ReadBool(body, "stream", &req->stream));
  const Json* opts = Field(body, "stream_options");
  if (opts == nullptr) return std::nullopt;
  if (!opts->is_object()) {
    return InvalidParam("stream_options", TypeError("stream_options", "an object", *opts),
                        "invalid_type");
  }
  if (!req->stream) {
    return InvalidParam("stream_options", "'stream_options' is only allowed with 'stream': true",
                        "invalid_value");
  }
  return ReadBool(*opts, "include_usage", &req->include_usage);
}

}  // namespace

// Every top-level field is one we act on, or one documented as accepted and
// ignored (docs/design.md, "Request fields"); anything else is a 400 that
// names it, as OpenAI answers an unknown argument, rather than silence.
MaybeError CheckKnownFields(Endpoint endpoint, const Json& body) {
  static const std::set<std::string, std::less<>> kBoth = {
      // OpenAI
      "model", "frequency_penalty", "logit_bias", "logprobs", "max_tokens", "n", "presence_penalty",
      "seed", "stop", "stream", "stream_options", "temperature", "top_p", "user",
      // vLLM / llama.cpp extensions
      "top_k", "min_p", "repetition_penalty", "ignore_eos", "min_tokens", "stop_token_ids",
      "include_stop_str_in_output", "priority", "prompt_logprobs", "bad_words",
      "response_format", "guided_json", "guided_regex", "guided_choice", "guided_grammar", "grammar",
      "json_schema",
      // accepted no-ops: storage, billing and cache hints of OpenAI's service
      "metadata", "store", "service_tier", "prompt_cache_key", "safety_identifier"};
  static const std::set<std::string, std::less<>> kChat = {
      "messages", "max_completion_tokens", "top_logprobs", "tools", "tool_choice",
      "parallel_tool_calls", "chat_template_kwargs", "add_generation_prompt", "continue_final_message"};
  static const std::set<std::string, std::less<>> kCompletion = {"prompt", "best_of", "echo"};
  for (const auto& [key, value] : body.items()) {
    if (kBoth.count(key) != 0 || (endpoint == Endpoint::kChat ? kChat : kCompletion).count(key) != 0) continue;
    if (key == "modalities" && value.is_array() && value.size() == 1 && value[0] == "text") continue;
    return InvalidParam(key, "'" + key + "' is not supported by this server", "unsupported_parameter");
  }
  return std::nullopt;
}

ApiOr<OpenAiRequest> ParseOpenAiRequestJson(Endpoint endpoint, const Json& body,
                                            const ParseLimits& limits,
                                            const SamplingParams& defaults) {
  if (!body.is_object()) {
    return InvalidParam("", "the request body must be a JSON object", "invalid_type");
  }
  KVS_API_RETURN_IF_ERROR(CheckKnownFields(endpoint, body));
  OpenAiRequest req;
  req.endpoint = endpoint;
  req.sampling.temperature = defaults.temperature;
  req.sampling.top_k = defaults.top_k;
  req.sampling.top_p = defaults.top_p;
  req.sampling.min_p = defaults.min_p;
  req.sampling.repetition_penalty = defaults.repetition_penalty;
  KVS_API_RETURN_IF_ERROR(ReadString(body, "model", &req.model));
  if (endpoint == Endpoint::kChat) {
    KVS_API_RETURN_IF_ERROR(ReadMessages(body, &req.messages));
    KVS_API_RETURN_IF_ERROR(ReadToolFields(body, &req));
  } else {
    KVS_API_RETURN_IF_ERROR(ReadPrompt(body, limits, &req));
  }
  int64_t n = 1;
  KVS_API_RETURN_IF_ERROR(ReadInt(body, "n", 1, limits.max_choices, &n));
  int64_t best_of = n;
  KVS_API_RETURN_IF_ERROR(ReadInt(body, "best_of", 1, limits.max_choices, &best_of));
  if (best_of < n) {
    return InvalidParam("best_of", "'best_of' must be at least n (" + std::to_string(n) + ")", "invalid_value");
  }
  if (best_of > n && endpoint == Endpoint::kChat) {
    return InvalidParam("best_of", "'best_of' is a completions parameter", "invalid_value");
  }
  if (best_of > n && Field(body, "stream") != nullptr && *Field(body, "stream") == true) {
    return InvalidParam("best_of", "'best_of' greater than n cannot be streamed", "invalid_value");
  }
  req.n = static_cast<int>(n);
  req.best_of = static_cast<int>(best_of);
  KVS_API_RETURN_IF_ERROR(ReadBool(body, "add_generation_prompt", &req.add_generation_prompt));
  KVS_API_RETURN_IF_ERROR(ReadBool(body, "continue_final_message", &req.continue_final_message));
  if (req.continue_final_message) {
    if (req.messages.empty() || req.messages.back().role != "assistant") {
      return InvalidParam("continue_final_message", "'continue_final_message' needs a final assistant message",
                          "invalid_value");
    }
    if (Field(body, "add_generation_prompt") != nullptr && req.add_generation_prompt) {
      return InvalidParam("continue_final_message",
                          "'continue_final_message' and 'add_generation_prompt' cannot both be true", "invalid_value");
    }
    req.add_generation_prompt = false;
  }
  KVS_API_RETURN_IF_ERROR(ReadBool(body, "echo", &req.echo));
  if (req.echo && endpoint == Endpoint::kChat) {
    return InvalidParam("echo", "'echo' is a completions parameter", "invalid_value");
  }
  int64_t prompt_logprobs = -1;
  KVS_API_RETURN_IF_ERROR(ReadInt(body, "prompt_logprobs", 0, limits.max_top_logprobs, &prompt_logprobs));
  req.prompt_logprobs = static_cast<int>(prompt_logprobs);
  int64_t max_tokens = -1;
  // 0 new tokens: only with echo, to score a prompt (evaluation harnesses).
  KVS_API_RETURN_IF_ERROR(ReadInt(body, "max_tokens", req.echo ? 0 : 1, INT32_MAX, &max_tokens));
  KVS_API_RETURN_IF_ERROR(ReadInt(body, "max_completion_tokens", 1, INT32_MAX, &max_tokens));
  req.max_tokens = static_cast<int>(max_tokens);
  KVS_API_RETURN_IF_ERROR(ReadSampling(body, endpoint, limits, &req));
  KVS_API_RETURN_IF_ERROR(ReadStop(body, limits, &req.stop));
  KVS_API_RETURN_IF_ERROR(ReadBool(body, "ignore_eos", &req.ignore_eos));
  int64_t min_tokens = 0;
  KVS_API_RETURN_IF_ERROR(ReadInt(body, "min_tokens", 0, INT32_MAX, &min_tokens));
  if (req.max_tokens >= 0 && min_tokens > req.max_tokens) {
    return InvalidParam("min_tokens", "'min_tokens' (" + std::to_string(min_tokens) +
                                          ") must not exceed max_tokens (" + std::to_string(req.max_tokens) + ")",
                        "invalid_value");
  }
  req.min_tokens = static_cast<int>(min_tokens);
  if (const Json* ids = Field(body, "stop_token_ids")) {
    if (!ids->is_array() || ids->size() > static_cast<size_t>(limits.max_stop_token_ids)) {
      return InvalidParam("stop_token_ids",
                          "'stop_token_ids' must be an array of at most " +
                              std::to_string(limits.max_stop_token_ids) + " token ids",
                          "invalid_type");
    }
    for (const Json& id : *ids) {
      if (!id.is_number_integer() || id.get<int64_t>() < 0 || id.get<int64_t>() > INT32_MAX) {
        return InvalidParam("stop_token_ids", "'stop_token_ids' entries must be token ids", "invalid_value");
      }
      req.stop_token_ids.push_back(static_cast<TokenId>(id.get<int64_t>()));
    }
  }
  KVS_API_RETURN_IF_ERROR(ReadBool(body, "include_stop_str_in_output", &req.include_stop_str_in_output));
  if (Field(body, "bad_words") != nullptr) {
    return InvalidParam("bad_words", "'bad_words' is not supported (use logit_bias)", "unsupported_parameter");
  }
  KVS_API_RETURN_IF_ERROR(ReadStreaming(body, &req));
  KVS_API_RETURN_IF_ERROR(ReadString(body, "user", &req.user));
  int64_t priority = 0;
  KVS_API_RETURN_IF_ERROR(ReadInt(body, "priority", INT32_MIN, INT32_MAX, &priority));
  req.priority = static_cast<int>(priority);
  return req;
}

ApiOr<OpenAiRequest> ParseOpenAiRequest(Endpoint endpoint, std::string_view body,
                                        const ParseLimits& limits,
                                        const SamplingParams& defaults,
                                        nlohmann::ordered_json* document) {
  if (JsonNestingDepth(body, limits.max_json_depth) > limits.max_json_depth) {
    return JsonTooDeep(limits.max_json_depth);
  }
  nlohmann::ordered_json ordered = nlohmann::ordered_json::parse(body, nullptr, false);
  if (ordered.is_discarded()) {
    return InvalidParam("", "malformed JSON in the request body", "invalid_json");
  }
  // The field checks read a sorted-key value: converting the parsed tree
  // costs less than parsing the text again.
  ApiOr<OpenAiRequest> req = ParseOpenAiRequestJson(endpoint, Json(ordered), limits, defaults);
  if (req.ok() && (!req.value().tools_json.empty() || !req.value().chat_template_kwargs_json.empty())) {
    // Templates print tools with tojson: keep the client's key order.
    KeepClientKeyOrder(ordered, &req.value());
  }
  if (document != nullptr) *document = std::move(ordered);
  return req;
}

}  // namespace kvs::server
