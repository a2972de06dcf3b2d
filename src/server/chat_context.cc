#include "server/chat_context.h"

#include <nlohmann/json.hpp>

#include "jinja/hf_globals.h"
#include "jinja/json.h"

namespace kvs::server {
namespace {

using jinja::Dict;
using jinja::Value;
using OrderedJson = nlohmann::ordered_json;

// A tool call as templates read it: {"id", "type": "function", "function":
// {"name", "arguments"}}; arguments become a JSON object when they parse as
// one (Llama 3.1's template prints them with tojson), else stay a string.
Value ToolCallValue(const ToolCall& call) {
  Dict function;
  function.Set("name", Value(call.name));
  OrderedJson args = OrderedJson::parse(call.arguments, nullptr, /*allow_exceptions=*/false);
  function.Set("arguments", args.is_object() ? jinja::FromJson(args) : Value(call.arguments));
  Dict d;
  if (!call.id.empty()) d.Set("id", Value(call.id));
  d.Set("type", Value("function"));
  d.Set("function", Value::MakeDict(std::move(function)));
  return Value::MakeDict(std::move(d));
}

Value MessageValue(const InputMessage& m) {
  Dict d;
  d.Set("role", Value(m.role));
  d.Set("content", Value(m.content));
  if (!m.name.empty()) d.Set("name", Value(m.name));
  if (m.has_reasoning) d.Set("reasoning_content", Value(m.reasoning_content));
  if (!m.tool_calls.empty()) {
    std::vector<Value> calls;
    for (const ToolCall& c : m.tool_calls) calls.push_back(ToolCallValue(c));
    d.Set("tool_calls", Value::MakeList(std::move(calls)));
  }
  if (m.role == "tool" && !m.tool_call_id.empty()) d.Set("tool_call_id", Value(m.tool_call_id));
  return Value::MakeDict(std::move(d));
}

}  // namespace

StatusOr<Dict> ChatTemplateContext(const OpenAiRequest& request, const SpecialTokenText& tokens,
                                   const std::tm& now, bool add_generation_prompt) {
  Dict ctx;
  std::vector<Value> messages;
  for (const InputMessage& m : request.messages) messages.push_back(MessageValue(m));
  ctx.Set("messages", Value::MakeList(std::move(messages)));
  Value tools = Value::None();
  if (!request.tools_json.empty()) {
    OrderedJson t = OrderedJson::parse(request.tools_json, nullptr, false);
    if (!t.is_array()) return InternalError("tools_json is not a JSON array");
    tools = jinja::FromJson(t);
  }
  ctx.Set("tools", tools);
  ctx.Set("documents", Value::None());
  ctx.Set("add_generation_prompt", Value(add_generation_prompt));
  ctx.Set("bos_token", Value(tokens.bos));
  ctx.Set("eos_token", Value(tokens.eos));
  if (!request.chat_template_kwargs_json.empty()) {
    OrderedJson k = OrderedJson::parse(request.chat_template_kwargs_json, nullptr, false);
    if (!k.is_object()) return InternalError("chat_template_kwargs_json is not a JSON object");
    for (auto it = k.begin(); it != k.end(); ++it) ctx.Set(Value(it.key()), jinja::FromJson(it.value()));
  }
  jinja::AddHfGlobals(now, &ctx);
  return ctx;
}

}  // namespace kvs::server
