// ChatPrompt: picks the model's chat template family (a --chat-template
// override, else detected from the GGUF tokenizer.chat_template text, else
// "plain" for base models) and builds the ChatEncoder the routes use:
// messages -> rendered text -> token ids (BOS first; the template's control
// markers become their special tokens).
#pragma once

#include <string>

#include "base/status.h"
#include "server/server_config.h"
#include "tokenizer/tokenizer.h"

namespace kvs::server {

struct ChatPrompt {
  std::string name;  // the family, e.g. "chatml" or "plain"
  ChatEncoder encode;
};

// tokenizer is borrowed by the encoder and must outlive it. An unknown
// override name, or a model template of no known family with no override,
// is an InvalidArgument error naming --chat-template.
StatusOr<ChatPrompt> MakeChatPrompt(const Tokenizer* tokenizer, const std::string& override_name);

}  // namespace kvs::server
