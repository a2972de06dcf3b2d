#include "server/openai_response.h"

namespace kvs::server {
namespace {

using Json = nlohmann::json;

Json Bytes(const std::string& s) {
  Json arr = Json::array();
  for (unsigned char c : s) arr.push_back(static_cast<int>(c));
  return arr;
}

// chat: {"content": [{"token", "logprob", "bytes", "top_logprobs": [...]}]}
Json ChatLogprobs(const std::vector<LogprobToken>& tokens) {
  Json content = Json::array();
  for (const LogprobToken& t : tokens) {
    Json top = Json::array();
    for (const TopLogprob& alt : t.top) {
      top.push_back({{"token", alt.token}, {"logprob", alt.logprob}, {"bytes", Bytes(alt.token)}});
    }
    content.push_back({{"token", t.token},
                       {"logprob", t.logprob},
                       {"bytes", Bytes(t.token)},
                       {"top_logprobs", std::move(top)}});
  }
  return {{"content", std::move(content)}};
}

// completions: {"tokens", "token_logprobs", "top_logprobs": [{tok: lp}], "text_offset"}
Json CompletionLogprobs(const std::vector<LogprobToken>& tokens) {
  Json toks = Json::array(), lps = Json::array(), tops = Json::array(), offs = Json::array();
  for (const LogprobToken& t : tokens) {
    toks.push_back(t.token);
    if (t.no_logprob) {  // the first prompt token of an echo: nothing before it
      lps.push_back(nullptr);
      tops.push_back(nullptr);
      offs.push_back(t.text_offset);
      continue;
    }
    lps.push_back(t.logprob);
    Json top = Json::object();
    for (const TopLogprob& alt : t.top) {
      // Two alternatives can decode to the same text (e.g. two byte pieces
      // that both become U+FFFD); the map keeps the more likely one.
      if (!top.contains(alt.token)) top[alt.token] = alt.logprob;
    }
    tops.push_back(std::move(top));
    offs.push_back(t.text_offset);
  }
  return {{"tokens", std::move(toks)},
          {"token_logprobs", std::move(lps)},
          {"top_logprobs", std::move(tops)},
          {"text_offset", std::move(offs)}};
}

Json LogprobsJson(const ResponseContext& ctx, const std::vector<LogprobToken>& tokens) {
  if (!ctx.logprobs) return nullptr;
  return ctx.endpoint == Endpoint::kChat ? ChatLogprobs(tokens) : CompletionLogprobs(tokens);
}

Json Envelope(const ResponseContext& ctx, const char* object) {
  return {{"id", ctx.id},
          {"object", object},
          {"created", ctx.created},
          {"model", ctx.model},
          {"system_fingerprint", "kvserve"}};
}

Json FinishJson(const char* finish_reason) {
  return finish_reason == nullptr ? Json(nullptr) : Json(finish_reason);
}

}  // namespace

std::string MakeResponseId(Endpoint endpoint, int64_t request_id) {
  return std::string(endpoint == Endpoint::kChat ? "chatcmpl-" : "cmpl-") +
         std::to_string(request_id);
}

Json UsageJson(const Usage& usage) {
  return {{"prompt_tokens", usage.prompt_tokens},
          {"completion_tokens", usage.completion_tokens},
          {"total_tokens", usage.prompt_tokens + usage.completion_tokens},
          {"prompt_tokens_details", {{"cached_tokens", usage.cached_tokens}}}};
}

Json BuildResponse(const ResponseContext& ctx, const std::vector<ChoiceResult>& choices,
                   const Usage& usage) {
  bool chat = ctx.endpoint == Endpoint::kChat;
  Json out = Envelope(ctx, chat ? "chat.completion" : "text_completion");
  out["choices"] = Json::array();
  for (size_t i = 0; i < choices.size(); ++i) {
    const ChoiceResult& c = choices[i];
    Json choice = {{"index", i}};
    if (chat) {
      choice["message"] = {{"role", "assistant"}, {"content", c.text}};
      if (!c.tool_calls.empty()) {
        if (c.text.empty()) choice["message"]["content"] = nullptr;
        Json calls = Json::array();
        for (const ToolCall& t : c.tool_calls) {
          calls.push_back({{"id", t.id},
                           {"type", "function"},
                           {"function", {{"name", t.name}, {"arguments", t.arguments}}}});
        }
        choice["message"]["tool_calls"] = std::move(calls);
      }
    } else {
      choice["text"] = c.text;
    }
    choice["logprobs"] = LogprobsJson(ctx, c.logprobs);
    choice["finish_reason"] = FinishJson(c.finish_reason);
    if (!c.prompt_logprobs.is_null()) choice["prompt_logprobs"] = c.prompt_logprobs;
    out["choices"].push_back(std::move(choice));
  }
  out["usage"] = UsageJson(usage);
  return out;
}

Json BuildResponse(const ResponseContext& ctx, const std::string& text, const char* finish_reason,
                   const std::vector<LogprobToken>& logprobs, const Usage& usage) {
  ChoiceResult choice;
  choice.text = text;
  choice.finish_reason = finish_reason;
  choice.logprobs = logprobs;
  return BuildResponse(ctx, {choice}, usage);
}

Json BuildChunk(const ResponseContext& ctx, const std::string& text, bool first,
                const std::vector<LogprobToken>& logprobs, const char* finish_reason, int index) {
  bool chat = ctx.endpoint == Endpoint::kChat;
  Json out = Envelope(ctx, chat ? "chat.completion.chunk" : "text_completion");
  Json choice = {{"index", index}};
  if (chat) {
    Json delta = Json::object();
    if (first) delta["role"] = "assistant";
    if (!text.empty() || first) delta["content"] = text;
    choice["delta"] = std::move(delta);
  } else {
    choice["text"] = text;
  }
  choice["logprobs"] = logprobs.empty() ? Json(nullptr) : LogprobsJson(ctx, logprobs);
  choice["finish_reason"] = FinishJson(finish_reason);
  out["choices"] = Json::array({std::move(choice)});
  return out;
}

Json BuildToolCallChunk(const ResponseContext& ctx, const std::vector<ToolCall>& calls, int index) {
  Json out = Envelope(ctx, "chat.completion.chunk");
  Json list = Json::array();
  for (size_t i = 0; i < calls.size(); ++i) {
    list.push_back({{"index", i},
                    {"id", calls[i].id},
                    {"type", "function"},
                    {"function", {{"name", calls[i].name}, {"arguments", calls[i].arguments}}}});
  }
  out["choices"] = Json::array({{{"index", index},
                                 {"delta", {{"tool_calls", std::move(list)}}},
                                 {"logprobs", nullptr},
                                 {"finish_reason", nullptr}}});
  return out;
}

Json BuildUsageChunk(const ResponseContext& ctx, const Usage& usage) {
  Json out =
      Envelope(ctx, ctx.endpoint == Endpoint::kChat ? "chat.completion.chunk" : "text_completion");
  out["choices"] = Json::array();
  out["usage"] = UsageJson(usage);
  return out;
}

std::string DumpJson(const Json& j) {
  return j.dump(-1, ' ', false, Json::error_handler_t::replace);
}

}  // namespace kvs::server
