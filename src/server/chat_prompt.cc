#include "server/chat_prompt.h"

#include <ctime>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>

#include "io/hf_tokenizer.h"
#include "jinja/template.h"
#include "server/chat_context.h"

namespace kvs::server {

const char kChatmlTemplate[] =
    "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content']"
    " + '<|im_end|>' + '\\n' }}{% endfor %}{% if add_generation_prompt %}"
    "{{ '<|im_start|>assistant\\n' }}{% endif %}";

const char kPlainTemplate[] =
    "{% set ns = namespace(empty=true) %}{% for message in messages %}"
    "{% if message['role'] != 'assistant' and not ns.empty %}{{ '\\n' }}{% endif %}"
    "{{ message['content'] }}{% if message['content'] %}{% set ns.empty = false %}{% endif %}"
    "{% endfor %}";

namespace {

// --chat-template FILE: a tokenizer_config.json's "chat_template", else the
// file's text as the template.
StatusOr<std::string> ReadTemplateFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return InvalidArgumentError("--chat-template: cannot read " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string text = ss.str();
  nlohmann::json config = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (config.is_object()) {
    if (auto t = ChatTemplateFromConfig(config)) return *t;
    return InvalidArgumentError("--chat-template: " + path +
                                " is JSON without a \"chat_template\" string");
  }
  return text;
}

bool HasToken(const Vocab& v, const std::string& piece) {
  for (const std::string& p : v.pieces) {
    if (p == piece) return true;
  }
  return false;
}

std::tm LocalNow() {
  std::time_t t = std::time(nullptr);
  std::tm now{};
  localtime_r(&t, &now);
  return now;
}

}  // namespace

StatusOr<ChatPrompt> MakeChatPrompt(const Tokenizer* tokenizer, const std::string& override_path) {
  const Vocab& vocab = tokenizer->vocab();
  ChatPrompt out;
  std::string text;
  if (!override_path.empty()) {
    KVS_ASSIGN_OR_RETURN(text, ReadTemplateFile(override_path));
    out.name = "file " + override_path;
  } else if (!vocab.chat_template.empty()) {
    text = vocab.chat_template;
    out.name = "model";
  } else if (HasToken(vocab, "<|im_start|>")) {
    text = kChatmlTemplate;
    out.name = "chatml";
  } else {
    text = kPlainTemplate;
    out.name = "plain";
  }
  out.text = text;
  StatusOr<std::unique_ptr<jinja::Template>> parsed = jinja::Template::Parse(text);
  if (!parsed.ok()) {
    return InvalidArgumentError("chat template (" + out.name + "): " + parsed.status().message() +
                                (override_path.empty() ? "; pass --chat-template FILE" : ""));
  }
  std::shared_ptr<const jinja::Template> tmpl = std::move(parsed).value();
  SpecialTokenText special;
  auto piece = [&](TokenId id) {
    return id >= 0 && static_cast<size_t>(id) < vocab.pieces.size() ? vocab.pieces[id] : std::string();
  };
  special.bos = piece(vocab.bos_id);
  special.eos = piece(vocab.eos_id);
  out.encode = [tokenizer, tmpl, special](const OpenAiRequest& request)
      -> StatusOr<std::vector<TokenId>> {
    KVS_ASSIGN_OR_RETURN(jinja::Dict ctx, ChatTemplateContext(request, special, LocalNow(),
                                                              request.add_generation_prompt));
    KVS_ASSIGN_OR_RETURN(std::string text, tmpl->Render(ctx));
    if (request.continue_final_message) {
      // Assistant prefill: cut what the template writes after the final
      // message's content (its end-of-turn), as vLLM does.
      const std::string& last = request.messages.back().content;
      size_t at = last.empty() ? std::string::npos : text.rfind(last);
      if (at == std::string::npos) {
        return InvalidArgumentError("continue_final_message: the template does not write the final message's content as sent");
      }
      text.resize(at + last.size());
    }
    const bool has_bos = !special.bos.empty() && text.rfind(special.bos, 0) == 0;
    return tokenizer->EncodeWithSpecial(text, /*add_bos=*/!has_bos);
  };
  return out;
}

}  // namespace kvs::server
