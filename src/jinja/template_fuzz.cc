// libFuzzer target: Template::Parse + Render on arbitrary template text with
// a fixed chat context (messages with tool calls, tools, bos/eos, the Hugging
// Face globals). Must never crash, read out of bounds (ASan) or hang: every
// render ends with text or a Status under small RenderLimits (output bytes,
// loop iterations, macro depth, work budget). See the Makefile's `make fuzz`.
#include <cstddef>
#include <cstdint>
#include <ctime>
#include <nlohmann/json.hpp>
#include <string>

#include "jinja/hf_globals.h"
#include "jinja/json.h"
#include "jinja/template.h"

namespace {

kvs::jinja::Dict MakeContext() {
  auto j = nlohmann::ordered_json::parse(R"({
    "messages": [
      {"role": "system", "content": "You are helpful."},
      {"role": "user", "content": "Weather in Paris?\n<think>x</think>"},
      {"role": "assistant", "content": "", "tool_calls": [{"id": "c1", "type": "function",
        "function": {"name": "get_weather", "arguments": {"city": "Paris", "days": [1, 2.5]}}}]},
      {"role": "tool", "content": "{\"t\": 21}", "tool_call_id": "c1"},
      {"role": "assistant", "content": "Sunny, 21°C.", "reasoning_content": "easy"}],
    "tools": [{"type": "function", "function": {"name": "get_weather", "description": "d",
      "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}],
    "documents": null, "add_generation_prompt": true, "bos_token": "<s>", "eos_token": "</s>",
    "enable_thinking": false})");
  kvs::jinja::Dict ctx = kvs::jinja::FromJson(j).AsDict();
  std::tm now{};
  now.tm_year = 124;
  now.tm_mon = 6;
  now.tm_mday = 26;
  kvs::jinja::AddHfGlobals(now, &ctx);
  return ctx;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const kvs::jinja::Dict* ctx = new kvs::jinja::Dict(MakeContext());
  auto t = kvs::jinja::Template::Parse(std::string(reinterpret_cast<const char*>(data), size));
  if (!t.ok()) {
    KVS_CHECK(!t.status().message().empty());
    return 0;
  }
  kvs::jinja::RenderLimits limits;
  limits.max_output_bytes = 1 << 16;
  limits.max_loop_iterations = 10000;
  limits.max_work = 1 << 20;
  auto out = (*t)->Render(*ctx, limits);
  if (out.ok()) {
    KVS_CHECK(out->size() <= limits.max_output_bytes) << "output over the limit";
  } else {
    KVS_CHECK(!out.status().message().empty());
  }
  return 0;
}
