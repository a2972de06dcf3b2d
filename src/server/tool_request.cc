#include "server/tool_request.h"

namespace kvs::server {
namespace {

using Json = nlohmann::json;
using MaybeError = std::optional<ApiError>;

MaybeError Invalid(const std::string& param, const std::string& message) {
  return InvalidParam(param, message, "invalid_value");
}

bool IsString(const Json& obj, const char* key) {
  auto it = obj.find(key);
  return it != obj.end() && it->is_string();
}

// Optional string field: absent or null is fine, anything else must be a string.
MaybeError OptionalString(const Json& obj, const char* key, const std::string& param,
                          std::string* out, bool* present = nullptr) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return std::nullopt;
  if (!it->is_string()) return InvalidParam(param + "." + key, "'" + std::string(key) + "' must be a string", "invalid_type");
  *out = it->get<std::string>();
  if (present) *present = true;
  return std::nullopt;
}

MaybeError ReadTool(const Json& t, size_t i) {
  std::string param = "tools[" + std::to_string(i) + "]";
  if (!t.is_object()) return InvalidParam(param, "a tool must be an object", "invalid_type");
  if (!IsString(t, "type") || t["type"] != "function") {
    return Invalid(param + ".type", "only tools of type 'function' are supported");
  }
  auto f = t.find("function");
  if (f == t.end() || !f->is_object()) {
    return InvalidParam(param + ".function", "a tool needs a 'function' object", "invalid_type");
  }
  if (!IsString(*f, "name") || (*f)["name"].get<std::string>().empty()) {
    return Invalid(param + ".function.name", "a function needs a non-empty string 'name'");
  }
  auto d = f->find("description");
  if (d != f->end() && !d->is_null() && !d->is_string()) {
    return InvalidParam(param + ".function.description", "'description' must be a string", "invalid_type");
  }
  auto p = f->find("parameters");
  if (p != f->end() && !p->is_null() && !p->is_object()) {
    return InvalidParam(param + ".function.parameters", "'parameters' must be a JSON Schema object",
                        "invalid_type");
  }
  return std::nullopt;
}

}  // namespace

MaybeError ReadToolFields(const Json& body, OpenAiRequest* req) {
  std::vector<std::string> names;
  auto tools = body.find("tools");
  if (tools != body.end() && !tools->is_null()) {
    if (!tools->is_array()) return InvalidParam("tools", "'tools' must be an array", "invalid_type");
    for (size_t i = 0; i < tools->size(); ++i) {
      if (MaybeError e = ReadTool((*tools)[i], i)) return e;
      names.push_back((*tools)[i]["function"]["name"].get<std::string>());
    }
    if (!tools->empty()) req->tools_json = tools->dump();
  }
  auto choice = body.find("tool_choice");
  if (choice != body.end() && !choice->is_null()) {
    if (choice->is_string()) {
      std::string c = choice->get<std::string>();
      if (c == "none") {
        req->tool_choice.mode = ToolChoice::Mode::kNone;
      } else if (c == "auto") {
        req->tool_choice.mode = ToolChoice::Mode::kAuto;
      } else if (c == "required") {
        req->tool_choice.mode = ToolChoice::Mode::kRequired;
      } else {
        return Invalid("tool_choice", "'tool_choice' must be 'none', 'auto', 'required' or a function");
      }
    } else if (choice->is_object()) {
      auto f = choice->find("function");
      if (!IsString(*choice, "type") || (*choice)["type"] != "function" || f == choice->end() ||
          !f->is_object() || !IsString(*f, "name")) {
        return Invalid("tool_choice",
                       "a 'tool_choice' object must be {\"type\": \"function\", \"function\": {\"name\": ...}}");
      }
      req->tool_choice.mode = ToolChoice::Mode::kFunction;
      req->tool_choice.function_name = (*f)["name"].get<std::string>();
      bool known = false;
      for (const auto& n : names) known |= n == req->tool_choice.function_name;
      if (!known) {
        return Invalid("tool_choice.function.name",
                       "tool_choice names '" + req->tool_choice.function_name + "', which is not in 'tools'");
      }
    } else {
      return InvalidParam("tool_choice", "'tool_choice' must be a string or an object", "invalid_type");
    }
    if (req->tool_choice.mode == ToolChoice::Mode::kRequired && names.empty()) {
      return Invalid("tool_choice", "tool_choice 'required' needs 'tools'");
    }
  }
  auto parallel = body.find("parallel_tool_calls");
  if (parallel != body.end() && !parallel->is_null()) {
    if (!parallel->is_boolean()) {
      return InvalidParam("parallel_tool_calls", "'parallel_tool_calls' must be a boolean", "invalid_type");
    }
    req->parallel_tool_calls = parallel->get<bool>();
  }
  auto kwargs = body.find("chat_template_kwargs");
  if (kwargs != body.end() && !kwargs->is_null()) {
    if (!kwargs->is_object()) {
      return InvalidParam("chat_template_kwargs", "'chat_template_kwargs' must be an object", "invalid_type");
    }
    for (const char* reserved : {"messages", "tools", "add_generation_prompt"}) {
      if (kwargs->contains(reserved)) {
        return Invalid("chat_template_kwargs." + std::string(reserved),
                       "'" + std::string(reserved) + "' is set by the server, not by chat_template_kwargs");
      }
    }
    req->chat_template_kwargs_json = kwargs->dump();
  }
  return std::nullopt;
}

MaybeError ReadMessageToolFields(const Json& m, size_t i, InputMessage* msg) {
  std::string param = "messages[" + std::to_string(i) + "]";
  if (MaybeError e = OptionalString(m, "name", param, &msg->name)) return e;
  if (msg->role == "tool") {
    if (MaybeError e = OptionalString(m, "tool_call_id", param, &msg->tool_call_id)) return e;
  }
  if (msg->role != "assistant") return std::nullopt;
  if (MaybeError e = OptionalString(m, "reasoning_content", param, &msg->reasoning_content,
                                    &msg->has_reasoning)) {
    return e;
  }
  auto calls = m.find("tool_calls");
  if (calls == m.end() || calls->is_null()) return std::nullopt;
  if (!calls->is_array()) {
    return InvalidParam(param + ".tool_calls", "'tool_calls' must be an array", "invalid_type");
  }
  for (size_t k = 0; k < calls->size(); ++k) {
    const Json& c = (*calls)[k];
    std::string cp = param + ".tool_calls[" + std::to_string(k) + "]";
    if (!c.is_object()) return InvalidParam(cp, "a tool call must be an object", "invalid_type");
    auto type = c.find("type");
    if (type != c.end() && !type->is_null() && *type != "function") {
      return Invalid(cp + ".type", "only tool calls of type 'function' are supported");
    }
    auto f = c.find("function");
    if (f == c.end() || !f->is_object() || !IsString(*f, "name")) {
      return Invalid(cp + ".function", "a tool call needs a 'function' with a string 'name'");
    }
    ToolCall call;
    call.name = (*f)["name"].get<std::string>();
    if (MaybeError e = OptionalString(c, "id", cp, &call.id)) return e;
    auto args = f->find("arguments");
    if (args != f->end() && !args->is_null()) {
      if (args->is_string()) {
        call.arguments = args->get<std::string>();
      } else if (args->is_object()) {
        call.arguments = args->dump();  // some clients send the object itself
      } else {
        return InvalidParam(cp + ".function.arguments", "'arguments' must be a JSON string", "invalid_type");
      }
    }
    msg->tool_calls.push_back(std::move(call));
  }
  return std::nullopt;
}

void KeepClientKeyOrder(const nlohmann::ordered_json& ordered, OpenAiRequest* req) {
  if (!ordered.is_object()) return;
  if (!req->tools_json.empty()) {
    auto t = ordered.find("tools");
    if (t != ordered.end()) req->tools_json = t->dump();
  }
  if (!req->chat_template_kwargs_json.empty()) {
    auto k = ordered.find("chat_template_kwargs");
    if (k != ordered.end()) req->chat_template_kwargs_json = k->dump();
  }
}

}  // namespace kvs::server
