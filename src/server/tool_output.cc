#include "server/tool_output.h"

#include <nlohmann/json.hpp>

#include "grammar/json_schema.h"

namespace kvs::server {
namespace {

using Json = nlohmann::json;
using OJson = nlohmann::ordered_json;

constexpr std::string_view kHermesOpen = "<tool_call>";
constexpr std::string_view kHermesClose = "</tool_call>";
constexpr std::string_view kPythonTag = "<|python_tag|>";
constexpr std::string_view kMistralTag = "[TOOL_CALLS]";

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\n' || s.front() == '\t' || s.front() == '\r')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\n' || s.back() == '\t' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return s;
}

// {"name": ..., "arguments"|"parameters": ...} as a call; false if not one.
bool CallFrom(const Json& j, std::string_view id_prefix, size_t index, ToolCall* out) {
  if (!j.is_object() || !j.contains("name") || !j["name"].is_string()) return false;
  const Json* args = nullptr;
  for (const char* key : {"arguments", "parameters"}) {
    if (j.contains(key)) args = &j[key];
  }
  out->id = "call_" + std::string(id_prefix) + "_" + std::to_string(index);
  out->name = j["name"].get<std::string>();
  if (args == nullptr) {
    out->arguments = "{}";
  } else {
    out->arguments = args->is_string() ? args->get<std::string>() : args->dump();
  }
  return true;
}

// The end of the JSON value starting at s[0] ('{' or '['), strings and
// escapes respected; npos if it does not close.
size_t ValueEnd(std::string_view s) {
  int depth = 0;
  bool in_string = false;
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      ++depth;
    } else if (c == '}' || c == ']') {
      if (--depth == 0) return i + 1;
    }
  }
  return std::string_view::npos;
}

ToolOutput ParseHermes(std::string_view text, std::string_view id_prefix) {
  ToolOutput out;
  size_t pos = 0;
  while (true) {
    const size_t open = text.find(kHermesOpen, pos);
    if (open == std::string_view::npos) {
      out.content += text.substr(pos);
      break;
    }
    size_t close = text.find(kHermesClose, open);
    const size_t body_start = open + kHermesOpen.size();
    const std::string_view body =
        Trim(text.substr(body_start, close == std::string_view::npos ? std::string_view::npos : close - body_start));
    const Json j = Json::parse(body, nullptr, /*allow_exceptions=*/false);
    ToolCall call;
    const size_t end = close == std::string_view::npos ? text.size() : close + kHermesClose.size();
    if (!j.is_discarded() && CallFrom(j, id_prefix, out.calls.size(), &call)) {
      out.content += text.substr(pos, open - pos);
      out.calls.push_back(std::move(call));
    } else {
      out.content += text.substr(pos, end - pos);
    }
    pos = end;
    if (pos >= text.size()) break;
  }
  out.content = std::string(Trim(out.content));
  return out;
}

ToolOutput ParseLlama3(std::string_view text, std::string_view id_prefix) {
  ToolOutput out;
  std::string_view rest = Trim(text);
  if (rest.substr(0, kPythonTag.size()) == kPythonTag) rest = Trim(rest.substr(kPythonTag.size()));
  std::vector<ToolCall> calls;
  while (!rest.empty()) {
    if (rest.front() != '{') return {std::string(Trim(text)), {}};
    const size_t end = ValueEnd(rest);
    if (end == std::string_view::npos) return {std::string(Trim(text)), {}};
    const Json j = Json::parse(rest.substr(0, end), nullptr, /*allow_exceptions=*/false);
    ToolCall call;
    if (j.is_discarded() || !CallFrom(j, id_prefix, calls.size(), &call)) return {std::string(Trim(text)), {}};
    calls.push_back(std::move(call));
    rest = Trim(rest.substr(end));
    if (!rest.empty() && rest.front() == ';') rest = Trim(rest.substr(1));
  }
  out.calls = std::move(calls);
  return out;
}

ToolOutput ParseMistral(std::string_view text, std::string_view id_prefix) {
  const size_t tag = text.find(kMistralTag);
  if (tag == std::string_view::npos) return {std::string(Trim(text)), {}};
  const std::string_view rest = Trim(text.substr(tag + kMistralTag.size()));
  const size_t end = rest.empty() || rest.front() != '[' ? std::string_view::npos : ValueEnd(rest);
  const Json j = end == std::string_view::npos ? Json() : Json::parse(rest.substr(0, end), nullptr, false);
  ToolOutput out;
  if (!j.is_array()) return {std::string(Trim(text)), {}};
  for (const Json& c : j) {
    ToolCall call;
    if (!CallFrom(c, id_prefix, out.calls.size(), &call)) return {std::string(Trim(text)), {}};
    out.calls.push_back(std::move(call));
  }
  out.content = std::string(Trim(std::string(text.substr(0, tag)) + std::string(rest.substr(end))));
  return out;
}

}  // namespace

const char* ToolCallFormatName(ToolCallFormat f) {
  switch (f) {
    case ToolCallFormat::kHermes: return "hermes";
    case ToolCallFormat::kLlama3Json: return "llama3-json";
    case ToolCallFormat::kMistral: return "mistral";
  }
  return "?";
}

ToolCallFormat DetectToolCallFormat(std::string_view t) {
  if (t.find(kHermesOpen) != std::string_view::npos) return ToolCallFormat::kHermes;
  if (t.find(kMistralTag) != std::string_view::npos) return ToolCallFormat::kMistral;
  if (t.find(kPythonTag) != std::string_view::npos ||
      (t.find("<|start_header_id|>") != std::string_view::npos && t.find("parameters") != std::string_view::npos)) {
    return ToolCallFormat::kLlama3Json;
  }
  return ToolCallFormat::kHermes;
}

ToolOutput ParseToolOutput(ToolCallFormat format, std::string_view text, std::string_view id_prefix) {
  switch (format) {
    case ToolCallFormat::kHermes: return ParseHermes(text, id_prefix);
    case ToolCallFormat::kLlama3Json: return ParseLlama3(text, id_prefix);
    case ToolCallFormat::kMistral: return ParseMistral(text, id_prefix);
  }
  return {std::string(text), {}};
}

StatusOr<std::string> ToolCallGrammar(ToolCallFormat format, const std::string& tools_json,
                                      const ToolChoice& choice, bool parallel) {
  const OJson tools = OJson::parse(tools_json, nullptr, /*allow_exceptions=*/false);
  if (!tools.is_array()) return InvalidArgumentError("tools: not an array");
  const char* args_key = format == ToolCallFormat::kLlama3Json ? "parameters" : "arguments";
  // A named tool_choice asks for that one call (OpenAI and vLLM answer it
  // with exactly one), whatever parallel_tool_calls says.
  if (choice.mode == ToolChoice::Mode::kFunction) parallel = false;
  OJson calls = OJson::array();
  for (size_t i = 0; i < tools.size(); ++i) {
    const OJson& f = tools[i]["function"];
    const std::string name = f["name"].get<std::string>();
    if (choice.mode == ToolChoice::Mode::kFunction && name != choice.function_name) continue;
    OJson params = f.contains("parameters") && !f["parameters"].is_null() ? f["parameters"] : OJson{{"type", "object"}};
    // The call itself must compile: a parameters schema we cannot turn into
    // grammar is named here.
    StatusOr<std::string> check = JsonSchemaToGbnf(params.dump());
    if (!check.ok()) {
      return InvalidArgumentError("tools[" + std::to_string(i) + "].function.parameters: " +
                                  check.status().message());
    }
    OJson call = {{"type", "object"},
                  {"properties", {{"name", {{"const", name}}}, {args_key, params}}},
                  {"required", {"name", args_key}},
                  {"additionalProperties", false}};
    calls.push_back(std::move(call));
  }
  if (calls.empty()) {
    return InvalidArgumentError("tool_choice names '" + choice.function_name + "', which is not in tools");
  }
  const OJson schema = calls.size() == 1 ? calls[0] : OJson{{"anyOf", calls}};
  StatusOr<std::string> json = JsonSchemaToGbnf(schema.dump());
  if (!json.ok()) return json.status();
  std::string gbnf = *json;
  gbnf.replace(gbnf.find("root ::="), 8, "call ::=");
  switch (format) {
    case ToolCallFormat::kHermes:
      gbnf += "one ::= \"<tool_call>\\n\" call \"\\n</tool_call>\"\n";
      gbnf += parallel ? "root ::= one ( \"\\n\" one )*\n" : "root ::= one\n";
      break;
    case ToolCallFormat::kLlama3Json:
      gbnf += parallel ? "root ::= call ( \";\" call )*\n" : "root ::= call\n";
      break;
    case ToolCallFormat::kMistral:
      gbnf += parallel ? "root ::= \"[TOOL_CALLS][\" call ( \",\" call )* \"]\"\n"
                       : "root ::= \"[TOOL_CALLS][\" call \"]\"\n";
      break;
  }
  return gbnf;
}

std::string ToolStreamFilter::Feed(std::string_view text) {
  all_.append(text);
  if (holding_) return "";
  std::string_view marker = format_ == ToolCallFormat::kMistral ? kMistralTag : kHermesOpen;
  if (format_ == ToolCallFormat::kLlama3Json) {
    // A call is the whole reply: decided by its first non-space text.
    const std::string_view head = Trim(all_);
    if (released_ == 0) {
      if (head.empty()) return "";
      const std::string_view h = head.substr(0, kPythonTag.size());
      const bool may_be_call = head.front() == '{' || kPythonTag.substr(0, h.size()) == h;
      if (may_be_call) {
        holding_ = true;
        return "";
      }
    }
    std::string out = all_.substr(released_);
    released_ = all_.size();
    return out;
  }
  const size_t at = all_.find(marker, released_);
  if (at != std::string::npos) {
    std::string out = all_.substr(released_, at - released_);
    released_ = at;
    holding_ = true;
    return out;
  }
  // Hold back a tail that may be the start of the marker.
  size_t keep = 0;
  for (size_t len = std::min(marker.size() - 1, all_.size() - released_); len > 0; --len) {
    if (std::string_view(all_).substr(all_.size() - len) == marker.substr(0, len)) {
      keep = len;
      break;
    }
  }
  std::string out = all_.substr(released_, all_.size() - keep - released_);
  released_ = all_.size() - keep;
  return out;
}

ToolOutput ToolStreamFilter::Finish(std::string_view id_prefix) {
  const std::string_view held = std::string_view(all_).substr(released_);
  ToolOutput out = ParseToolOutput(format_, held, id_prefix);
  if (out.calls.empty()) out.content = std::string(held);  // as written, spaces and all
  released_ = all_.size();
  return out;
}

}  // namespace kvs::server
