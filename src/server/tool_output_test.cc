// Tool calls out of model text in each family's format, the streaming
// filter that holds back only what may be a call, and the grammar that
// forces a valid call.
#include "server/tool_output.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "grammar/gbnf.h"
#include "grammar/grammar_matcher.h"

namespace kvs::server {
namespace {

using Json = nlohmann::json;

TEST(ToolOutputTest, DetectsTheFormatFromTheTemplate) {
  EXPECT_EQ(DetectToolCallFormat("{{- '<tool_call>\\n' }}"), ToolCallFormat::kHermes);
  EXPECT_EQ(DetectToolCallFormat("[TOOL_CALLS] {{ calls }}"), ToolCallFormat::kMistral);
  EXPECT_EQ(DetectToolCallFormat("<|python_tag|>{{ x }}"), ToolCallFormat::kLlama3Json);
  EXPECT_EQ(DetectToolCallFormat("<|start_header_id|> ... \"parameters\""), ToolCallFormat::kLlama3Json);
  EXPECT_EQ(DetectToolCallFormat("<|im_start|>{{ m.content }}"), ToolCallFormat::kHermes);
}

TEST(ToolOutputTest, ParsesEachFormat) {
  {
    const ToolOutput o = ParseToolOutput(
        ToolCallFormat::kHermes,
        "Let me check.\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n"
        "</tool_call>\n<tool_call>\n{\"name\": \"now\", \"arguments\": {}}\n</tool_call>",
        "7");
    ASSERT_EQ(o.calls.size(), 2u);
    EXPECT_EQ(o.calls[0].name, "get_weather");
    EXPECT_EQ(Json::parse(o.calls[0].arguments), Json::parse(R"({"city": "Paris"})"));
    EXPECT_EQ(o.calls[0].id, "call_7_0");
    EXPECT_EQ(o.calls[1].name, "now");
    EXPECT_EQ(o.content, "Let me check.");
  }
  {
    const ToolOutput o = ParseToolOutput(ToolCallFormat::kLlama3Json,
                                         " {\"name\": \"f\", \"parameters\": {\"a\": \"x;y\"}}; "
                                         "{\"name\": \"g\", \"parameters\": {}}",
                                         "1");
    ASSERT_EQ(o.calls.size(), 2u);
    EXPECT_EQ(Json::parse(o.calls[0].arguments)["a"], "x;y");
    EXPECT_EQ(o.calls[1].name, "g");
    EXPECT_EQ(o.content, "");
  }
  {
    const ToolOutput o = ParseToolOutput(
        ToolCallFormat::kMistral, "[TOOL_CALLS] [{\"name\": \"f\", \"arguments\": {\"n\": 1}}]", "2");
    ASSERT_EQ(o.calls.size(), 1u);
    EXPECT_EQ(o.calls[0].arguments, "{\"n\":1}");
  }
  // Not calls: stays content.
  for (const auto& [format, text] : std::vector<std::pair<ToolCallFormat, const char*>>{
           {ToolCallFormat::kHermes, "<tool_call>{not json}</tool_call> and text"},
           {ToolCallFormat::kHermes, "plain answer"},
           {ToolCallFormat::kLlama3Json, "{\"city\": \"Paris\"} is JSON but no call"},
           {ToolCallFormat::kMistral, "[TOOL_CALLS] oops"}}) {
    const ToolOutput o = ParseToolOutput(format, text, "x");
    EXPECT_TRUE(o.calls.empty()) << text;
    EXPECT_EQ(o.content, text);
  }
}

// Fed in every split, the filter streams the text before a call and holds
// the call, whose end-of-reply parse finds it.
TEST(ToolOutputTest, StreamFilterHoldsOnlyWhatMayBeACall) {
  const std::string text =
      "Sure <tool_ <tool_call>\n{\"name\": \"f\", \"arguments\": {\"q\": \"<tool_call>\"}}\n</tool_call>";
  for (size_t step = 1; step <= 7; ++step) {
    ToolStreamFilter f(ToolCallFormat::kHermes);
    std::string streamed;
    for (size_t i = 0; i < text.size(); i += step) streamed += f.Feed(std::string_view(text).substr(i, step));
    const ToolOutput o = f.Finish("1");
    EXPECT_EQ(streamed, "Sure <tool_ ") << step;
    ASSERT_EQ(o.calls.size(), 1u) << step;
    EXPECT_EQ(Json::parse(o.calls[0].arguments)["q"], "<tool_call>");
  }
  {  // no call: everything streams, the last bytes at Finish at worst
    ToolStreamFilter f(ToolCallFormat::kHermes);
    std::string streamed = f.Feed("a < b and <tool");
    const ToolOutput o = f.Finish("1");
    EXPECT_EQ(streamed + o.content, "a < b and <tool");
    EXPECT_TRUE(o.calls.empty());
  }
  {  // Llama 3: a reply that starts as prose streams at once
    ToolStreamFilter f(ToolCallFormat::kLlama3Json);
    EXPECT_EQ(f.Feed("  "), "");
    EXPECT_EQ(f.Feed("Hi {x}"), "  Hi {x}");
    EXPECT_EQ(f.Feed(" more"), " more");
  }
  {  // ... and one that starts with '{' is held and parsed
    ToolStreamFilter f(ToolCallFormat::kLlama3Json);
    EXPECT_EQ(f.Feed("{\"name\": \"f\", "), "");
    EXPECT_EQ(f.Feed("\"parameters\": {}}"), "");
    EXPECT_EQ(f.Finish("1").calls.size(), 1u);
  }
}

bool Accepts(const std::string& gbnf, std::string_view text) {
  auto g = ParseGbnf(gbnf);
  EXPECT_TRUE(g.ok()) << g.status().ToString() << "\n" << gbnf;
  if (!g.ok()) return false;
  GrammarMatcher m(&*g);
  return m.Accept(text) && m.IsComplete();
}

TEST(ToolOutputTest, GrammarForcesAValidCall) {
  const std::string tools = R"([
    {"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object",
      "properties": {"city": {"type": "string"}, "unit": {"enum": ["c", "f"]}}, "required": ["city"],
      "additionalProperties": false}}},
    {"type": "function", "function": {"name": "now"}}])";
  ToolChoice required{ToolChoice::Mode::kRequired, ""};
  auto hermes = ToolCallGrammar(ToolCallFormat::kHermes, tools, required, /*parallel=*/true);
  ASSERT_TRUE(hermes.ok()) << hermes.status().ToString();
  EXPECT_TRUE(Accepts(*hermes, "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Oslo\"}}\n</tool_call>"));
  EXPECT_TRUE(Accepts(*hermes, "<tool_call>\n{\"name\": \"now\", \"arguments\": {}}\n</tool_call>\n"
                               "<tool_call>\n{\"name\": \"now\", \"arguments\": {}}\n</tool_call>"));
  EXPECT_FALSE(Accepts(*hermes, "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {}}\n</tool_call>"));
  EXPECT_FALSE(Accepts(*hermes, "<tool_call>\n{\"name\": \"other\", \"arguments\": {}}\n</tool_call>"));
  EXPECT_FALSE(Accepts(*hermes, "Sure!"));

  ToolChoice named{ToolChoice::Mode::kFunction, "now"};
  auto llama = ToolCallGrammar(ToolCallFormat::kLlama3Json, tools, named, /*parallel=*/false);
  ASSERT_TRUE(llama.ok());
  EXPECT_TRUE(Accepts(*llama, "{\"name\": \"now\", \"parameters\": {}}"));
  EXPECT_FALSE(Accepts(*llama, "{\"name\": \"get_weather\", \"parameters\": {\"city\": \"x\"}}"));
  // Named means one call, even where parallel calls are allowed.
  auto one = ToolCallGrammar(ToolCallFormat::kHermes, tools, named, /*parallel=*/true);
  ASSERT_TRUE(one.ok());
  EXPECT_TRUE(Accepts(*one, "<tool_call>\n{\"name\": \"now\", \"arguments\": {}}\n</tool_call>"));
  EXPECT_FALSE(Accepts(*one, "<tool_call>\n{\"name\": \"now\", \"arguments\": {}}\n</tool_call>\n"
                             "<tool_call>\n{\"name\": \"now\", \"arguments\": {}}\n</tool_call>"));
  auto mistral = ToolCallGrammar(ToolCallFormat::kMistral, tools, named, false);
  ASSERT_TRUE(mistral.ok());
  EXPECT_TRUE(Accepts(*mistral, "[TOOL_CALLS][{\"name\": \"now\", \"arguments\": {\"x\": 1}}]"));

  ToolChoice missing{ToolChoice::Mode::kFunction, "nope"};
  EXPECT_FALSE(ToolCallGrammar(ToolCallFormat::kHermes, tools, missing, false).ok());
  const std::string bad = R"([{"type": "function", "function": {"name": "f", "parameters":
      {"type": "object", "properties": {"s": {"type": "string", "pattern": "^a"}}}}}])";
  auto refused = ToolCallGrammar(ToolCallFormat::kHermes, bad, required, false);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("tools[0].function.parameters"), std::string::npos);
  EXPECT_NE(refused.status().message().find("pattern"), std::string::npos);
}

}  // namespace
}  // namespace kvs::server
