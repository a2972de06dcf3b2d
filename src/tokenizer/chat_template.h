// Chat templates: turn a list of chat messages into the prompt text a model
// was fine-tuned on, for the handful of template families in common use.
//
// We do not run Jinja: a model's tokenizer.chat_template is only inspected
// for distinctive markers (DetectChatTemplate) and each family is rendered
// by hand-written code following its published format. Stateless functions;
// thread-safe.
//
// Conventions for every family:
// - The leading BOS is NOT rendered: the tokenizer adds it (Encode with
//   add_bos). Later control markers ("<s>" between llama2 turns, "</s>",
//   "<|im_end|>", ...) are rendered as text: encode the result with
//   Tokenizer::EncodeWithSpecial so they become their tokens.
// - Roles: "system", "user", "assistant"; "developer" is read as "system".
//   Any other role is an InvalidArgument error.
// - Families without a system role (llama2 in its <<SYS>> block, mistral,
//   gemma) fold system text into the next user turn.
//
// Families ("name": format, with S system, U user, A assistant):
// - "chatml":  <|im_start|>ROLE\nCONTENT<|im_end|>\n per message;
//              prompt <|im_start|>assistant\n
// - "llama2":  [INST] <<SYS>>\nS\n<</SYS>>\n\nU [/INST] A </s><s>[INST] U2 [/INST]
//              (contents trimmed; the generation prompt is implicit)
// - "llama3":  <|start_header_id|>ROLE<|end_header_id|>\n\nCONTENT<|eot_id|>
//              (content trimmed); prompt <|start_header_id|>assistant<|end_header_id|>\n\n
// - "mistral": [INST] U [/INST]A</s>[INST] U2 [/INST]  (v0.2 format; a system
//              message becomes "S\n\n" before the next user content)
// - "zephyr":  <|system|>\nS</s>\n<|user|>\nU</s>\n<|assistant|>\nA</s>\n;
//              prompt <|assistant|>\n
// - "gemma":   <start_of_turn>user\nU<end_of_turn>\n<start_of_turn>model\nA<end_of_turn>\n
//              (contents trimmed, system folded as "S\n\n"); prompt <start_of_turn>model\n
// - "phi3":    <|system|>\nS<|end|>\n<|user|>\nU<|end|>\n<|assistant|>\nA<|end|>\n;
//              prompt <|assistant|>\n
// - "plain":   for base models without a chat format (stories260K): no role
//              markers. System and user contents are joined with "\n"; an
//              assistant message is appended directly, with no separator, so
//              a story the model began and the client sent back continues
//              exactly where it stopped. add_generation_prompt adds nothing.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace kvs {

struct ChatMessage {
  std::string role;
  std::string content;
};

enum class ChatTemplate { kPlain, kChatml, kLlama2, kLlama3, kMistral, kZephyr, kGemma, kPhi3 };

// "plain", "chatml", "llama2", ...
std::string_view ChatTemplateName(ChatTemplate t);
// The family for a --chat-template name; InvalidArgument listing the known
// names otherwise.
StatusOr<ChatTemplate> ParseChatTemplate(std::string_view name);

// The family name for a model's Jinja chat template, by its markers:
// "<|im_start|>" chatml, "<|start_header_id|>" llama3, "<start_of_turn>"
// gemma, "<|user|>" with "<|end|>" phi3, "<|user|>" otherwise zephyr (its
// template writes "</s>" or eos_token), "[INST]" with "<<SYS>>" llama2,
// "[INST]" without it mistral. Empty text -> "plain". A non-empty template
// with none of these markers -> "" (unknown): the caller decides, e.g. asks
// for --chat-template, rather than us guessing a format silently.
std::string DetectChatTemplate(const std::string& jinja_text);

StatusOr<std::string> RenderChat(ChatTemplate family, const std::vector<ChatMessage>& messages,
                                 bool add_generation_prompt = true);
// By name (e.g. from --chat-template or DetectChatTemplate); an unknown name
// is an InvalidArgument error.
StatusOr<std::string> RenderChat(std::string_view family, const std::vector<ChatMessage>& messages,
                                 bool add_generation_prompt = true);

}  // namespace kvs
