#include "server/chat_prompt.h"

#include "tokenizer/chat_template.h"

namespace kvs::server {

StatusOr<ChatPrompt> MakeChatPrompt(const Tokenizer* tokenizer, const std::string& override_name) {
  std::string name = override_name;
  if (name.empty()) {
    name = DetectChatTemplate(tokenizer->vocab().chat_template);
    if (name.empty()) {
      return InvalidArgumentError(
          "the model's chat template is of no known family; pass --chat-template NAME");
    }
  }
  KVS_ASSIGN_OR_RETURN(ChatTemplate family, ParseChatTemplate(name));
  ChatPrompt out;
  out.name = std::string(ChatTemplateName(family));
  out.encode = [tokenizer, family](
                   const std::vector<InputMessage>& messages) -> StatusOr<std::vector<TokenId>> {
    std::vector<ChatMessage> turns;
    turns.reserve(messages.size());
    for (const InputMessage& m : messages) turns.push_back({m.role, m.content});
    KVS_ASSIGN_OR_RETURN(std::string text,
                         RenderChat(family, turns, /*add_generation_prompt=*/true));
    return tokenizer->EncodeWithSpecial(text, /*add_bos=*/true);
  };
  return out;
}

}  // namespace kvs::server
