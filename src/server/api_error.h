// ApiError: an OpenAI-style error, {"error": {"message", "type", "param",
// "code"}}, with the HTTP status it is sent under; and ApiOr<T>, a T or an
// ApiError, the result type of everything the HTTP routes call.
//
// Why not Status: an OpenAI client needs the offending parameter and a
// machine-readable code besides the message, and the status code must be
// chosen where the cause is known (400 for a bad value, 404 for an unknown
// model, 429/503 for load). Values; safe to copy between threads.
#pragma once

#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <utility>

#include "base/check.h"
#include "base/status.h"

namespace kvs::server {

struct ApiError {
  int http_status = 400;
  std::string message;
  std::string type = "invalid_request_error";
  std::string param;      // "" -> null
  std::string code;       // "" -> null
  int retry_after_s = 0;  // > 0: sent as a Retry-After header (429, 503)

  // {"error": {...}}.
  nlohmann::json ToJson() const;
};

// 400 invalid_request_error for a parameter.
ApiError InvalidParam(std::string param, std::string message, std::string code = "");
// 400 with code context_length_exceeded.
ApiError ContextLengthExceeded(int n_prompt_tokens, int max_tokens, int max_model_len);
ApiError ModelNotFound(const std::string& model);   // 404
ApiError Unauthorized();                            // 401
ApiError PayloadTooLarge(size_t max_bytes);         // 413
// 400 invalid_json: arrays/objects nested deeper than max_depth.
ApiError JsonTooDeep(int max_depth);
ApiError TooManyRequests(int max_concurrent);       // 429 with Retry-After
ApiError Unavailable(std::string message);          // 503 with Retry-After
ApiError NotFoundRoute(const std::string& path);    // 404 for an unknown URL
ApiError InternalServerError(std::string message);  // 500
// Maps an engine Status (e.g. a rejected Submit) onto the closest status.
ApiError FromStatus(const Status& status);

template <typename T>
class ApiOr {
 public:
  ApiOr(ApiError error) : error_(std::move(error)) {}  // NOLINT: implicit by design
  ApiOr(T value) : value_(std::move(value)) {}         // NOLINT: implicit by design

  bool ok() const { return value_.has_value(); }
  const ApiError& error() const {
    KVS_CHECK(!ok()) << "error() on a value";
    return *error_;
  }
  T& value() & {
    KVS_CHECK(ok()) << "value() on error: " << error_->message;
    return *value_;
  }
  const T& value() const& {
    KVS_CHECK(ok()) << "value() on error: " << error_->message;
    return *value_;
  }
  T&& value() && {
    KVS_CHECK(ok()) << "value() on error: " << error_->message;
    return std::move(*value_);
  }

 private:
  std::optional<ApiError> error_;
  std::optional<T> value_;
};

}  // namespace kvs::server
