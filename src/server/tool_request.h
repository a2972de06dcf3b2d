// The tool-calling and template fields of a chat request: `tools`,
// `tool_choice`, `parallel_tool_calls`, `chat_template_kwargs`, and a
// message's `tool_calls` / `tool_call_id` / `name` / `reasoning_content`.
// Pure validation (400 naming the field on a bad shape); part of
// openai_request's parse. Free functions; thread-safe.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "server/api_error.h"
#include "server/openai_request.h"

namespace kvs::server {

// tools, tool_choice, parallel_tool_calls, chat_template_kwargs of `body`.
std::optional<ApiError> ReadToolFields(const nlohmann::json& body, OpenAiRequest* req);

// The tool fields of messages[i] (`m`) into *msg (role already set).
std::optional<ApiError> ReadMessageToolFields(const nlohmann::json& m, size_t i, InputMessage* msg);

// Replaces tools_json / chat_template_kwargs_json with the same values in
// the order the client wrote their keys (a parsed nlohmann::json sorts
// them; `ordered` is the body parsed keeping order).
void KeepClientKeyOrder(const nlohmann::ordered_json& ordered, OpenAiRequest* req);

}  // namespace kvs::server
