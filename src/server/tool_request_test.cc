#include "server/tool_request.h"

#include <gtest/gtest.h>

#include "server/openai_request.h"

namespace kvs::server {
namespace {

ApiOr<OpenAiRequest> Chat(const std::string& extra, const std::string& messages =
                                                        R"([{"role": "user", "content": "hi"}])") {
  return ParseOpenAiRequest(Endpoint::kChat, R"({"messages": )" + messages + extra + "}");
}

const char kTools[] =
    R"(, "tools": [{"type": "function", "function": {"name": "get_weather", "description": "d",
        "parameters": {"type": "object", "properties": {"z": {}, "a": {}}}}}])";

TEST(ToolRequestTest, ToolsKeepTheClientsKeyOrder) {
  auto r = Chat(kTools);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r.value().tools_json,
            R"([{"type":"function","function":{"name":"get_weather","description":"d",)"
            R"("parameters":{"type":"object","properties":{"z":{},"a":{}}}}}])");
  EXPECT_EQ(r.value().tool_choice.mode, ToolChoice::Mode::kAuto);
  EXPECT_TRUE(r.value().parallel_tool_calls);
}

TEST(ToolRequestTest, ToolChoiceForms) {
  auto none = Chat(std::string(kTools) + R"(, "tool_choice": "none", "parallel_tool_calls": false)");
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(none.value().tool_choice.mode, ToolChoice::Mode::kNone);
  EXPECT_FALSE(none.value().parallel_tool_calls);
  auto named = Chat(std::string(kTools) +
                    R"(, "tool_choice": {"type": "function", "function": {"name": "get_weather"}})");
  ASSERT_TRUE(named.ok()) << named.error().message;
  EXPECT_EQ(named.value().tool_choice.mode, ToolChoice::Mode::kFunction);
  EXPECT_EQ(named.value().tool_choice.function_name, "get_weather");
  auto required = Chat(std::string(kTools) + R"(, "tool_choice": "required")");
  ASSERT_TRUE(required.ok());
  EXPECT_EQ(required.value().tool_choice.mode, ToolChoice::Mode::kRequired);
}

TEST(ToolRequestTest, BadShapesNameTheField) {
  struct Case {
    std::string extra;
    std::string param;
  } cases[] = {
      {R"(, "tools": {})", "tools"},
      {R"(, "tools": [{"type": "retrieval"}])", "tools[0].type"},
      {R"(, "tools": [{"type": "function"}])", "tools[0].function"},
      {R"(, "tools": [{"type": "function", "function": {"name": ""}}])", "tools[0].function.name"},
      {R"(, "tools": [{"type": "function", "function": {"name": "f", "parameters": []}}])",
       "tools[0].function.parameters"},
      {R"(, "tool_choice": "sometimes")", "tool_choice"},
      {R"(, "tool_choice": "required")", "tool_choice"},
      {std::string(kTools) + R"(, "tool_choice": {"type": "function", "function": {"name": "nope"}})",
       "tool_choice.function.name"},
      {R"(, "parallel_tool_calls": "yes")", "parallel_tool_calls"},
      {R"(, "chat_template_kwargs": [1])", "chat_template_kwargs"},
      {R"(, "chat_template_kwargs": {"messages": []})", "chat_template_kwargs.messages"},
  };
  for (const Case& c : cases) {
    auto r = Chat(c.extra);
    ASSERT_FALSE(r.ok()) << c.extra;
    EXPECT_EQ(r.error().param, c.param) << c.extra << ": " << r.error().message;
    EXPECT_EQ(r.error().http_status, 400);
  }
}

TEST(ToolRequestTest, ToolCallsAndToolResults) {
  auto r = Chat("", R"([{"role": "user", "content": "weather?"},
      {"role": "assistant", "content": null, "reasoning_content": "think",
       "tool_calls": [{"id": "c1", "type": "function",
                       "function": {"name": "get_weather", "arguments": "{\"city\": \"Paris\"}"}}]},
      {"role": "tool", "tool_call_id": "c1", "content": [{"type": "text", "text": "sunny"},
                                                        {"type": "text", "text": "25C"}]}])");
  ASSERT_TRUE(r.ok()) << r.error().message;
  const auto& m = r.value().messages;
  ASSERT_EQ(m.size(), 3u);
  ASSERT_EQ(m[1].tool_calls.size(), 1u);
  EXPECT_EQ(m[1].content, "");
  EXPECT_TRUE(m[1].has_reasoning);
  EXPECT_EQ(m[1].reasoning_content, "think");
  EXPECT_EQ(m[1].tool_calls[0].id, "c1");
  EXPECT_EQ(m[1].tool_calls[0].name, "get_weather");
  EXPECT_EQ(m[1].tool_calls[0].arguments, R"({"city": "Paris"})");
  EXPECT_EQ(m[2].tool_call_id, "c1");
  EXPECT_EQ(m[2].content, "sunny\n25C");

  auto bad_call = Chat("", R"([{"role": "assistant", "tool_calls": [{"function": {"arguments": "{}"}}]}])");
  ASSERT_FALSE(bad_call.ok());
  EXPECT_EQ(bad_call.error().param, "messages[0].tool_calls[0].function");
  auto bad_id = Chat("", R"([{"role": "tool", "tool_call_id": 5, "content": "x"}])");
  ASSERT_FALSE(bad_id.ok());
  EXPECT_EQ(bad_id.error().param, "messages[0].tool_call_id");
}

}  // namespace
}  // namespace kvs::server
