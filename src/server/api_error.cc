#include "server/api_error.h"

#include <nlohmann/json.hpp>

namespace kvs::server {

nlohmann::json ApiError::ToJson() const {
  nlohmann::json e = {{"message", message}, {"type", type}};
  e["param"] = param.empty() ? nlohmann::json(nullptr) : nlohmann::json(param);
  e["code"] = code.empty() ? nlohmann::json(nullptr) : nlohmann::json(code);
  return {{"error", std::move(e)}};
}

ApiError InvalidParam(std::string param, std::string message, std::string code) {
  ApiError e;
  e.http_status = 400;
  e.message = std::move(message);
  e.param = std::move(param);
  e.code = std::move(code);
  return e;
}

ApiError ContextLengthExceeded(int n_prompt_tokens, int max_tokens, int max_model_len) {
  ApiError e;
  e.http_status = 400;
  e.message = "This model's maximum context length is " + std::to_string(max_model_len) +
              " tokens. However, you requested " + std::to_string(n_prompt_tokens + max_tokens) +
              " tokens (" + std::to_string(n_prompt_tokens) + " in the prompt, " +
              std::to_string(max_tokens) +
              " for the completion). Please reduce the prompt or max_tokens.";
  e.param = "messages";
  e.code = "context_length_exceeded";
  return e;
}

ApiError ModelNotFound(const std::string& model) {
  ApiError e;
  e.http_status = 404;
  e.message = "The model '" + model + "' does not exist";
  e.param = "model";
  e.code = "model_not_found";
  return e;
}

ApiError Unauthorized() {
  ApiError e;
  e.http_status = 401;
  e.message = "Incorrect or missing API key: send 'Authorization: Bearer KEY'";
  e.code = "invalid_api_key";
  return e;
}

ApiError JsonTooDeep(int max_depth) {
  return InvalidParam("", "JSON nested deeper than " + std::to_string(max_depth) + " levels",
                      "invalid_json");
}

ApiError PayloadTooLarge(size_t max_bytes) {
  ApiError e;
  e.http_status = 413;
  e.message = "Request body too large: at most " + std::to_string(max_bytes) + " bytes";
  e.code = "request_too_large";
  return e;
}

ApiError TooManyRequests(int max_concurrent) {
  ApiError e;
  e.http_status = 429;
  e.message =
      "Too many concurrent requests (limit " + std::to_string(max_concurrent) + "); retry later";
  e.type = "rate_limit_error";
  e.code = "rate_limit_exceeded";
  e.retry_after_s = 1;
  return e;
}

ApiError Unavailable(std::string message) {
  ApiError e;
  e.http_status = 503;
  e.message = std::move(message);
  e.type = "server_error";
  e.code = "service_unavailable";
  e.retry_after_s = 1;
  return e;
}

ApiError NotFoundRoute(const std::string& path) {
  ApiError e;
  e.http_status = 404;
  e.message = "No route for " + path;
  e.code = "not_found";
  return e;
}

ApiError InternalServerError(std::string message) {
  ApiError e;
  e.http_status = 500;
  e.message = std::move(message);
  e.type = "server_error";
  e.code = "internal_error";
  return e;
}

ApiError FromStatus(const Status& status) {
  switch (status.code()) {
    case StatusCode::kInvalidArgument:
      return InvalidParam("", status.message());
    case StatusCode::kOutOfRange: {
      ApiError e = InvalidParam("", status.message(), "context_length_exceeded");
      return e;
    }
    case StatusCode::kResourceExhausted:
    case StatusCode::kUnavailable:
    case StatusCode::kCancelled:
      return Unavailable(status.message());
    case StatusCode::kNotFound:
      return ModelNotFound(status.message());
    default:
      return InternalServerError(status.ToString());
  }
}

}  // namespace kvs::server
