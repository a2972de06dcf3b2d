#include "tokenizer/chat_template.h"

#include <array>
#include <utility>

namespace kvs {
namespace {

enum class Role { kSystem, kUser, kAssistant };

constexpr std::array<std::pair<ChatTemplate, std::string_view>, 8> kNames = {{
    {ChatTemplate::kPlain, "plain"},
    {ChatTemplate::kChatml, "chatml"},
    {ChatTemplate::kLlama2, "llama2"},
    {ChatTemplate::kLlama3, "llama3"},
    {ChatTemplate::kMistral, "mistral"},
    {ChatTemplate::kZephyr, "zephyr"},
    {ChatTemplate::kGemma, "gemma"},
    {ChatTemplate::kPhi3, "phi3"},
}};

StatusOr<Role> ParseRole(const std::string& role) {
  if (role == "system" || role == "developer") return Role::kSystem;
  if (role == "user") return Role::kUser;
  if (role == "assistant") return Role::kAssistant;
  return InvalidArgumentError("chat message role '" + role +
                              "' is not one of system, user, assistant");
}

// Python's str.strip() on ASCII whitespace, as the templates that call
// .strip() / | trim do.
std::string_view Trim(std::string_view s) {
  constexpr std::string_view kSpace = " \t\n\r\f\v";
  const size_t b = s.find_first_not_of(kSpace);
  if (b == std::string_view::npos) return {};
  return s.substr(b, s.find_last_not_of(kSpace) - b + 1);
}

// A message with its role resolved; system text already folded in where the
// family wants that.
struct Turn {
  Role role;
  std::string content;
};

// For families without a system role: system contents are prepended to the
// next user turn as "S<sep>U". A trailing system message with no user turn
// after it becomes a user turn of its own.
std::vector<Turn> FoldSystem(std::vector<Turn> turns, std::string_view sep) {
  std::vector<Turn> out;
  std::string pending;
  bool has_pending = false;
  for (Turn& t : turns) {
    if (t.role == Role::kSystem) {
      if (has_pending) pending += sep;
      pending += t.content;
      has_pending = true;
      continue;
    }
    if (t.role == Role::kUser && has_pending) {
      t.content = pending + std::string(sep) + t.content;
      has_pending = false;
      pending.clear();
    }
    out.push_back(std::move(t));
  }
  if (has_pending) out.push_back({Role::kUser, pending});
  return out;
}

std::string_view RoleName(Role r) {
  switch (r) {
    case Role::kSystem:
      return "system";
    case Role::kUser:
      return "user";
    case Role::kAssistant:
      return "assistant";
  }
  return "";
}

std::string RenderChatml(const std::vector<Turn>& turns, bool gen) {
  std::string out;
  for (const Turn& t : turns) {
    out.append("<|im_start|>").append(RoleName(t.role)).append("\n");
    out.append(t.content).append("<|im_end|>\n");
  }
  if (gen) out.append("<|im_start|>assistant\n");
  return out;
}

std::string RenderLlama2(const std::vector<Turn>& turns) {
  // Meta's format: the system prompt sits in a <<SYS>> block at the start of
  // the first user turn; every later user turn opens with its own BOS.
  std::string out;
  std::string system;
  bool has_system = false;
  bool first_user = true;
  for (const Turn& t : turns) {
    switch (t.role) {
      case Role::kSystem:
        if (has_system) system += "\n";
        system += t.content;
        has_system = true;
        break;
      case Role::kUser: {
        std::string content = t.content;
        if (has_system) {
          content = "<<SYS>>\n" + system + "\n<</SYS>>\n\n" + content;
          has_system = false;
          system.clear();
        }
        if (!first_user) out.append("<s>");
        first_user = false;
        out.append("[INST] ").append(Trim(content)).append(" [/INST]");
        break;
      }
      case Role::kAssistant:
        out.append(" ").append(Trim(t.content)).append(" </s>");
        break;
    }
  }
  return out;
}

std::string RenderLlama3(const std::vector<Turn>& turns, bool gen) {
  std::string out;
  for (const Turn& t : turns) {
    out.append("<|start_header_id|>").append(RoleName(t.role)).append("<|end_header_id|>\n\n");
    out.append(Trim(t.content)).append("<|eot_id|>");
  }
  if (gen) out.append("<|start_header_id|>assistant<|end_header_id|>\n\n");
  return out;
}

std::string RenderMistral(const std::vector<Turn>& turns) {
  std::string out;
  for (const Turn& t : FoldSystem(turns, "\n\n")) {
    if (t.role == Role::kUser) {
      out.append("[INST] ").append(t.content).append(" [/INST]");
    } else {
      out.append(t.content).append("</s>");
    }
  }
  return out;
}

// zephyr and phi3 differ only in the end-of-turn marker.
std::string RenderTagged(const std::vector<Turn>& turns, bool gen, std::string_view end) {
  std::string out;
  for (const Turn& t : turns) {
    out.append("<|").append(RoleName(t.role)).append("|>\n");
    out.append(t.content).append(end).append("\n");
  }
  if (gen) out.append("<|assistant|>\n");
  return out;
}

std::string RenderGemma(const std::vector<Turn>& turns, bool gen) {
  std::string out;
  for (const Turn& t : FoldSystem(turns, "\n\n")) {
    out.append("<start_of_turn>").append(t.role == Role::kUser ? "user" : "model").append("\n");
    out.append(Trim(t.content)).append("<end_of_turn>\n");
  }
  if (gen) out.append("<start_of_turn>model\n");
  return out;
}

std::string RenderPlain(const std::vector<Turn>& turns) {
  std::string out;
  for (const Turn& t : turns) {
    if (t.role != Role::kAssistant && !out.empty()) out.append("\n");
    out.append(t.content);
  }
  return out;
}

}  // namespace

std::string_view ChatTemplateName(ChatTemplate t) {
  for (const auto& [value, name] : kNames) {
    if (value == t) return name;
  }
  return "";
}

StatusOr<ChatTemplate> ParseChatTemplate(std::string_view name) {
  std::string known;
  for (const auto& [value, n] : kNames) {
    if (n == name) return value;
    known.append(known.empty() ? "" : ", ").append(n);
  }
  return InvalidArgumentError("unknown chat template '" + std::string(name) + "' (known: " + known +
                              ")");
}

std::string DetectChatTemplate(const std::string& jinja_text) {
  auto has = [&](std::string_view marker) { return jinja_text.find(marker) != std::string::npos; };
  if (jinja_text.empty()) return "plain";
  if (has("<|im_start|>")) return "chatml";
  if (has("<|start_header_id|>")) return "llama3";
  if (has("<start_of_turn>")) return "gemma";
  if (has("<|user|>")) {
    if (has("<|end|>")) return "phi3";
    if (has("</s>") || has("eos_token")) return "zephyr";
  }
  if (has("[INST]")) return has("<<SYS>>") ? "llama2" : "mistral";
  return "";
}

StatusOr<std::string> RenderChat(ChatTemplate family, const std::vector<ChatMessage>& messages,
                                 bool add_generation_prompt) {
  std::vector<Turn> turns;
  turns.reserve(messages.size());
  for (const ChatMessage& m : messages) {
    KVS_ASSIGN_OR_RETURN(Role role, ParseRole(m.role));
    turns.push_back({role, m.content});
  }
  const bool gen = add_generation_prompt;
  switch (family) {
    case ChatTemplate::kPlain:
      return RenderPlain(turns);
    case ChatTemplate::kChatml:
      return RenderChatml(turns, gen);
    case ChatTemplate::kLlama2:
      return RenderLlama2(turns);
    case ChatTemplate::kLlama3:
      return RenderLlama3(turns, gen);
    case ChatTemplate::kMistral:
      return RenderMistral(turns);
    case ChatTemplate::kZephyr:
      return RenderTagged(turns, gen, "</s>");
    case ChatTemplate::kGemma:
      return RenderGemma(turns, gen);
    case ChatTemplate::kPhi3:
      return RenderTagged(turns, gen, "<|end|>");
  }
  return InternalError("unhandled chat template");
}

StatusOr<std::string> RenderChat(std::string_view family, const std::vector<ChatMessage>& messages,
                                 bool add_generation_prompt) {
  KVS_ASSIGN_OR_RETURN(ChatTemplate t, ParseChatTemplate(family));
  return RenderChat(t, messages, add_generation_prompt);
}

}  // namespace kvs
