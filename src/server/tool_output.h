// Tool calls in a model's output: how a family writes them, how to find
// them in the text (OpenAI's message.tool_calls), and the grammar that
// makes a call certain when the request requires one.
//
// Formats (what the families' chat templates teach the model):
// - kHermes (Qwen2.5/Qwen3, Hermes, the fallback):
//     <tool_call>\n{"name": "f", "arguments": {...}}\n</tool_call>  (one or more)
// - kLlama3Json (Llama 3.1/3.2): the whole reply is {"name": "f",
//   "parameters": {...}}, optionally after <|python_tag|>; several are
//   separated by ';'.
// - kMistral: [TOOL_CALLS] [{"name": "f", "arguments": {...}}, ...]
// Stateless functions and a per-choice filter; the filter is not
// thread-safe (one per choice, used by one HTTP worker).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "server/openai_request.h"

namespace kvs::server {

enum class ToolCallFormat { kHermes, kLlama3Json, kMistral };
const char* ToolCallFormatName(ToolCallFormat f);

// The format a chat template's text teaches (kHermes when it shows none).
ToolCallFormat DetectToolCallFormat(std::string_view chat_template);

struct ToolOutput {
  std::string content;          // the text that is not a call (trimmed)
  std::vector<ToolCall> calls;  // id "call_<id_prefix>_<i>", arguments as JSON text
};

// The calls in a whole reply. Text that looks like a call but does not
// parse as one stays content.
ToolOutput ParseToolOutput(ToolCallFormat format, std::string_view text, std::string_view id_prefix);

// GBNF for a reply of calls to the tools `tools_json` (the request's array)
// under `choice`: kRequired, any of them, one call or (with parallel) more;
// kFunction, exactly one call of the named one. Each call's arguments are
// valid under the tool's parameters schema. InvalidArgument naming the tool
// when a schema cannot be compiled (json_schema.h).
StatusOr<std::string> ToolCallGrammar(ToolCallFormat format, const std::string& tools_json,
                                      const ToolChoice& choice, bool parallel);

// Streams a choice's text while holding back what may be a call: text
// from a possible call's start on is kept until the end, when Finish
// parses it. Content before it streams as it comes.
class ToolStreamFilter {
 public:
  explicit ToolStreamFilter(ToolCallFormat format) : format_(format) {}
  // New text in; the text that may go out now.
  std::string Feed(std::string_view text);
  // At the end: the calls, and the held text that was not a call.
  ToolOutput Finish(std::string_view id_prefix);

 private:
  ToolCallFormat format_;
  std::string all_;      // everything fed
  size_t released_ = 0;  // all_[0, released_) went out as content
  bool holding_ = false; // a call may have started at released_
};

}  // namespace kvs::server
