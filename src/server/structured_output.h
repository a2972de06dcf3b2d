// The grammar a request's output must follow (constrained decoding), read
// from its body. One of:
// - response_format (OpenAI): {"type": "text"} (none), {"type":
//   "json_object"}, {"type": "json_schema", "json_schema": {"name": ...,
//   "schema": {...}, "strict": ...}};
// - vLLM's guided_json (a schema, as an object or a JSON string),
//   guided_regex, guided_choice (a list of strings), guided_grammar (GBNF);
// - llama.cpp's grammar (GBNF) and json_schema.
// Two of them in one request is an error, as is anything the grammar
// compilers refuse (grammar/json_schema.h, regex.h, gbnf.h say what they
// take): a 400 naming the field and the reason.
// Stateless; thread-safe.
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <string_view>

#include "grammar/grammar.h"
#include "server/api_error.h"

namespace kvs::server {

// Null when the body asks for none. `body` is the request as
// ParseOpenAiRequest parsed it, key order kept (a schema's property order
// is the output's).
ApiOr<std::shared_ptr<const Grammar>> ReadOutputGrammar(const nlohmann::ordered_json& body);

}  // namespace kvs::server
