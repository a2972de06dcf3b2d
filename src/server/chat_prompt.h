// ChatPrompt: the chat template a server renders requests with, and the
// ChatEncoder the routes use: request -> template context -> rendered text
// (our Jinja interpreter, src/jinja) -> token ids, with the template's
// special-token text parsed as those tokens.
//
// The template is, in order: --chat-template FILE (a Jinja file, or a
// tokenizer_config.json whose "chat_template" is used); the model's own
// tokenizer.chat_template; ChatML when the vocabulary has an <|im_start|>
// token; else "plain" for base models (llama2.c stories): contents joined
// with "\n", an assistant turn appended with no separator, so a story the
// client sends back continues where it stopped.
// The template is parsed here, so a template outside our Jinja subset fails
// at startup naming the construct and line. BOS is prepended when the
// vocabulary asks for it and the rendered text does not already start with
// it (Llama 3's template writes bos_token itself). A request's
// add_generation_prompt goes to the template; with continue_final_message
// the rendering is cut right after the final (assistant) message's content.
#pragma once

#include <string>

#include "base/status.h"
#include "server/server_config.h"
#include "tokenizer/tokenizer.h"

namespace kvs::server {

struct ChatPrompt {
  std::string name;  // where the template came from: "model", "file PATH", "chatml", "plain"
  std::string text;  // the template's Jinja source
  ChatEncoder encode;
};

// tokenizer is borrowed by the encoder and must outlive it. override_path:
// "" or a --chat-template FILE. An unreadable file, a template outside the
// subset, or a tokenizer_config.json without a template is an
// InvalidArgument error naming it.
StatusOr<ChatPrompt> MakeChatPrompt(const Tokenizer* tokenizer, const std::string& override_path);

// The ChatML and plain templates (Jinja text) used when the model has none.
extern const char kChatmlTemplate[];
extern const char kPlainTemplate[];

}  // namespace kvs::server
