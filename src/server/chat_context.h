// ChatTemplateContext: the variables a chat template is rendered with for a
// request, as Hugging Face's apply_chat_template passes them and vLLM
// prepares them: messages (role, content, and when sent tool_calls with
// their arguments as a JSON object, tool_call_id, name, reasoning_content),
// tools (the request's array, or None), documents (None),
// add_generation_prompt, bos_token / eos_token, the request's
// chat_template_kwargs, and the globals raise_exception / strftime_now.
// Pure function of its inputs; thread-safe.
#pragma once

#include <ctime>
#include <string>

#include "base/status.h"
#include "jinja/value.h"
#include "server/openai_request.h"

namespace kvs::server {

struct SpecialTokenText {
  std::string bos;  // "" when the vocabulary has none
  std::string eos;
};

// `now`: the local time strftime_now formats.
StatusOr<jinja::Dict> ChatTemplateContext(const OpenAiRequest& request,
                                          const SpecialTokenText& tokens, const std::tm& now,
                                          bool add_generation_prompt = true);

}  // namespace kvs::server
