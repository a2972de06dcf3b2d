#include "server/openai_request.h"

#include <gtest/gtest.h>

#include <map>

namespace kvs::server {
namespace {

ApiError ChatError(const std::string& body) {
  auto r = ParseOpenAiRequest(Endpoint::kChat, body);
  EXPECT_FALSE(r.ok()) << body;
  return r.ok() ? ApiError{} : r.error();
}

ApiError CompletionError(const std::string& body) {
  auto r = ParseOpenAiRequest(Endpoint::kCompletion, body);
  EXPECT_FALSE(r.ok()) << body;
  return r.ok() ? ApiError{} : r.error();
}

TEST(OpenAiRequestTest, ParsesAFullChatRequest) {
  auto r = ParseOpenAiRequest(Endpoint::kChat, R"({
    "model": "m", "messages": [{"role": "developer", "content": "be brief"},
                               {"role": "user", "content": [{"type": "text", "text": "hi "},
                                                            {"type": "text", "text": "there"}]}],
    "max_completion_tokens": 7, "temperature": 0.5, "top_p": 0.9, "top_k": 40, "min_p": 0.05,
    "seed": 42, "stop": ["a", "b"], "presence_penalty": 0.5, "frequency_penalty": -0.5,
    "logprobs": true, "top_logprobs": 3, "stream": true,
    "stream_options": {"include_usage": true}, "user": "u1", "priority": -2, "ignore_eos": true,
    "min_tokens": 3, "stop_token_ids": [9, 12], "include_stop_str_in_output": true, "n": 4})");
  ASSERT_TRUE(r.ok()) << r.error().message;
  const OpenAiRequest& q = r.value();
  EXPECT_EQ(q.model, "m");
  ASSERT_EQ(q.messages.size(), 2u);
  EXPECT_EQ(q.messages[0].role, "system");  // developer is the new name of system
  EXPECT_EQ(q.messages[1].content, "hi \nthere");  // text parts joined with "\n"
  EXPECT_EQ(q.max_tokens, 7);
  EXPECT_FLOAT_EQ(q.sampling.temperature, 0.5f);
  EXPECT_FLOAT_EQ(q.sampling.top_p, 0.9f);
  EXPECT_EQ(q.sampling.top_k, 40);
  EXPECT_FLOAT_EQ(q.sampling.min_p, 0.05f);
  EXPECT_TRUE(q.sampling.has_seed);
  EXPECT_EQ(q.sampling.seed, 42u);
  EXPECT_EQ(q.stop, (std::vector<std::string>{"a", "b"}));
  EXPECT_FLOAT_EQ(q.sampling.frequency_penalty, -0.5f);
  EXPECT_EQ(q.sampling.top_logprobs, 3);
  EXPECT_TRUE(q.stream);
  EXPECT_TRUE(q.include_usage);
  EXPECT_EQ(q.user, "u1");
  EXPECT_EQ(q.priority, -2);
  EXPECT_TRUE(q.ignore_eos);
  EXPECT_EQ(q.min_tokens, 3);
  EXPECT_EQ(q.stop_token_ids, (std::vector<TokenId>{9, 12}));
  EXPECT_TRUE(q.include_stop_str_in_output);
  EXPECT_EQ(q.n, 4);
  EXPECT_EQ(q.best_of, 4);
}

TEST(OpenAiRequestTest, DefaultsAndNullsMeanUnset) {
  auto r = ParseOpenAiRequest(Endpoint::kChat,
                              R"({"messages": [{"role": "user", "content": "x"}],
                                  "temperature": null, "seed": null, "stop": null})");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.value().max_tokens, -1);
  EXPECT_FALSE(r.value().sampling.has_seed);
  EXPECT_EQ(r.value().sampling.top_logprobs, -1);
  EXPECT_FLOAT_EQ(r.value().sampling.temperature, 1.0f);
  EXPECT_TRUE(r.value().stop.empty());
}

// The model's own defaults fill what a request leaves out (or sends null);
// what it sends wins.
TEST(OpenAiRequestTest, ModelDefaultsFillOnlyWhatIsLeftOut) {
  SamplingParams defaults;
  defaults.temperature = 0.6f;
  defaults.top_p = 0.9f;
  defaults.top_k = 20;
  defaults.repetition_penalty = 1.1f;
  auto r = ParseOpenAiRequest(Endpoint::kChat,
                              R"({"messages": [{"role": "user", "content": "x"}],
                                  "temperature": 0.2, "top_k": null})",
                              {}, defaults);
  ASSERT_TRUE(r.ok());
  EXPECT_FLOAT_EQ(r.value().sampling.temperature, 0.2f);
  EXPECT_FLOAT_EQ(r.value().sampling.top_p, 0.9f);
  EXPECT_EQ(r.value().sampling.top_k, 20);
  EXPECT_FLOAT_EQ(r.value().sampling.repetition_penalty, 1.1f);
  EXPECT_FLOAT_EQ(r.value().sampling.min_p, 0.0f);
  EXPECT_FALSE(r.value().sampling.has_seed);
}

TEST(OpenAiRequestTest, CompletionPromptForms) {
  auto text = ParseOpenAiRequest(Endpoint::kCompletion, R"({"prompt": "Once", "stop": "x"})");
  ASSERT_TRUE(text.ok());
  ASSERT_EQ(text.value().prompts.size(), 1u);
  EXPECT_EQ(text.value().prompts[0].text, "Once");
  EXPECT_FALSE(text.value().prompts[0].is_ids);
  EXPECT_EQ(text.value().stop, std::vector<std::string>{"x"});

  auto ids = ParseOpenAiRequest(Endpoint::kCompletion, R"({"prompt": [1, 403, 407]})");
  ASSERT_TRUE(ids.ok());
  ASSERT_EQ(ids.value().prompts.size(), 1u);
  EXPECT_TRUE(ids.value().prompts[0].is_ids);
  EXPECT_EQ(ids.value().prompts[0].ids, (std::vector<TokenId>{1, 403, 407}));

  auto nested = ParseOpenAiRequest(Endpoint::kCompletion, R"({"prompt": [[5, 6]], "logprobs": 2})");
  ASSERT_TRUE(nested.ok());
  ASSERT_EQ(nested.value().prompts.size(), 1u);
  EXPECT_EQ(nested.value().prompts[0].ids, (std::vector<TokenId>{5, 6}));
  EXPECT_EQ(nested.value().sampling.top_logprobs, 2);

  auto one = ParseOpenAiRequest(Endpoint::kCompletion, R"({"prompt": ["hey"]})");
  ASSERT_TRUE(one.ok());
  ASSERT_EQ(one.value().prompts.size(), 1u);
  EXPECT_EQ(one.value().prompts[0].text, "hey");

  // A batch: strings and token arrays mixed, in order.
  auto batch = ParseOpenAiRequest(Endpoint::kCompletion, R"({"prompt": ["a", [7, 8], "b"]})");
  ASSERT_TRUE(batch.ok());
  ASSERT_EQ(batch.value().prompts.size(), 3u);
  EXPECT_EQ(batch.value().prompts[0].text, "a");
  EXPECT_EQ(batch.value().prompts[1].ids, (std::vector<TokenId>{7, 8}));
  EXPECT_EQ(batch.value().prompts[2].text, "b");
  std::string many = R"({"prompt": [)";
  for (int i = 0; i < 65; ++i) many += std::string(i ? "," : "") + "\"x\"";
  auto too_many = ParseOpenAiRequest(Endpoint::kCompletion, many + "]}");
  ASSERT_FALSE(too_many.ok());
  EXPECT_EQ(too_many.error().param, "prompt");
  EXPECT_FALSE(ParseOpenAiRequest(Endpoint::kCompletion, R"({"prompt": ["a", 3]})").ok());
}

TEST(OpenAiRequestTest, MalformedBodies) {
  EXPECT_EQ(ChatError("{\"messages\": [").code, "invalid_json");
  EXPECT_EQ(ChatError("").code, "invalid_json");
  EXPECT_EQ(ChatError("[1, 2]").code, "invalid_type");
  EXPECT_EQ(ChatError("\"hello\"").http_status, 400);
}

TEST(OpenAiRequestTest, WrongTypesNameTheParam) {
  struct Case {
    const char* body;
    const char* param;
  } cases[] = {
      {R"({"messages": "hi"})", "messages"},
      {R"({"messages": []})", "messages"},
      {R"({})", "messages"},
      {R"({"messages": [{"role": "user", "content": "x"}], "model": 3})", "model"},
      {R"({"messages": [{"content": "x"}]})", "messages[0].role"},
      {R"({"messages": [{"role": "wizard", "content": "x"}]})", "messages[0].role"},
      {R"({"messages": [{"role": "user", "content": 5}]})", "messages[0].content"},
      {R"({"messages": [{"role": "user", "content": [{"type": "image_url"}]}]})",
       "messages[0].content"},
      {R"({"messages": [{"role": "user", "content": "x"}], "temperature": "hot"})", "temperature"},
      {R"({"messages": [{"role": "user", "content": "x"}], "max_tokens": 1.5})", "max_tokens"},
      {R"({"messages": [{"role": "user", "content": "x"}], "stream": "yes"})", "stream"},
      {R"({"messages": [{"role": "user", "content": "x"}], "stop": [1]})", "stop"},
      {R"({"messages": [{"role": "user", "content": "x"}], "logprobs": 1})", "logprobs"},
      {R"({"messages": [{"role": "user", "content": "x"}], "user": 7})", "user"},
      {R"({"messages": [{"role": "user", "content": "x"}], "priority": "high"})", "priority"},
  };
  for (const Case& c : cases) {
    ApiError e = ChatError(c.body);
    EXPECT_EQ(e.http_status, 400) << c.body;
    EXPECT_EQ(e.param, c.param) << c.body;
    EXPECT_EQ(e.type, "invalid_request_error");
    EXPECT_FALSE(e.message.empty());
  }
}

TEST(OpenAiRequestTest, OutOfRangeValues) {
  const char* msgs = R"("messages": [{"role": "user", "content": "x"}])";
  struct Case {
    std::string extra;
    const char* param;
  } cases[] = {
      {R"("temperature": 2.5)", "temperature"},
      {R"("temperature": -0.1)", "temperature"},
      {R"("top_p": 0)", "top_p"},
      {R"("top_p": 1.01)", "top_p"},
      {R"("min_p": 2)", "min_p"},
      {R"("top_k": -2)", "top_k"},
      {R"("max_tokens": 0)", "max_tokens"},
      {R"("max_completion_tokens": -5)", "max_completion_tokens"},
      {R"("presence_penalty": 3)", "presence_penalty"},
      {R"("frequency_penalty": -2.01)", "frequency_penalty"},
      {R"("stop": ["a", "b", "c", "d", "e"])", "stop"},
      {R"("logprobs": true, "top_logprobs": 21)", "top_logprobs"},
      {R"("top_logprobs": 2)", "top_logprobs"},
      {R"("n": 17)", "n"},
      {R"("max_tokens": 3, "min_tokens": 4)", "min_tokens"},
      {R"("min_tokens": -1)", "min_tokens"},
      {R"("stop_token_ids": [1, -2])", "stop_token_ids"},
      {R"("stop_token_ids": 5)", "stop_token_ids"},
      {R"("include_stop_str_in_output": "yes")", "include_stop_str_in_output"},
      {R"("bad_words": ["x"])", "bad_words"},
      {R"("n": 0)", "n"},
      {R"("n": 3, "best_of": 2)", "best_of"},
      {R"("stream_options": {"include_usage": true})", "stream_options"},
      {R"("logit_bias": [1, 2])", "logit_bias"},
      {R"("logit_bias": {"12": 100.5})", "logit_bias"},
      {R"("logit_bias": {"12": -101})", "logit_bias"},
      {R"("logit_bias": {"12": "5"})", "logit_bias"},
      {R"("logit_bias": {"hello": 5})", "logit_bias"},
      {R"("logit_bias": {"-3": 5})", "logit_bias"},
      {R"("logit_bias": {"": 5})", "logit_bias"},
      {R"("logit_bias": {"99999999999": 5})", "logit_bias"},
  };
  for (const Case& c : cases) {
    std::string body = std::string("{") + msgs + ", " + c.extra + "}";
    ApiError e = ChatError(body);
    EXPECT_EQ(e.http_status, 400) << body;
    EXPECT_EQ(e.param, c.param) << body;
  }
}

TEST(OpenAiRequestTest, LogitBiasMapsTokenIdsToBiases) {
  auto r = ParseOpenAiRequest(
      Endpoint::kCompletion,
      R"({"prompt": "x", "logit_bias": {"128009": 100, "7": -100, "42": 0.5}})");
  ASSERT_TRUE(r.ok()) << r.error().message;
  std::map<TokenId, float> got;
  for (const LogitBias& b : r.value().sampling.logit_bias) got[b.id] = b.bias;
  EXPECT_EQ(got, (std::map<TokenId, float>{{7, -100.0f}, {42, 0.5f}, {128009, 100.0f}}));
  // More entries than the limit: refused before any work.
  ParseLimits limits;
  limits.max_logit_bias = 2;
  auto many = ParseOpenAiRequest(Endpoint::kCompletion,
                                 R"({"prompt": "x", "logit_bias": {"1": 1, "2": 2, "3": 3}})", limits);
  ASSERT_FALSE(many.ok());
  EXPECT_EQ(many.error().param, "logit_bias");
}

TEST(OpenAiRequestTest, CompletionPromptErrors) {
  EXPECT_EQ(CompletionError(R"({"prompt": 5})").param, "prompt");
  EXPECT_EQ(CompletionError(R"({"prompt": []})").param, "prompt");
  EXPECT_EQ(CompletionError(R"({"prompt": [1, -3]})").param, "prompt");
  EXPECT_EQ(CompletionError(R"({"prompt": [1, "a"]})").param, "prompt");
  EXPECT_EQ(CompletionError(R"({"prompt": ["a", 5]})").param, "prompt");
  EXPECT_EQ(CompletionError(R"({"prompt": [[1], []]})").param, "prompt");
  EXPECT_EQ(CompletionError(R"({"prompt": "x", "logprobs": 21})").param, "logprobs");
  EXPECT_EQ(CompletionError(R"({"prompt": "x", "echo": "yes"})").param, "echo");
  EXPECT_EQ(ChatError(R"({"messages": [{"role": "user", "content": "x"}], "continue_final_message": true})").param,
            "continue_final_message");  // the last message is not an assistant's
  EXPECT_EQ(ChatError(R"({"messages": [{"role": "assistant", "content": "x"}], "continue_final_message": true,
                         "add_generation_prompt": true})").param,
            "continue_final_message");
  EXPECT_EQ(ChatError(R"({"messages": [{"role": "user", "content": "x"}], "echo": true})").param, "echo");
  EXPECT_EQ(CompletionError(R"({"prompt": "x", "max_tokens": 0})").param, "max_tokens");  // 0 needs echo
  EXPECT_EQ(CompletionError(R"({"prompt": "x", "prompt_logprobs": 21})").param, "prompt_logprobs");
  EXPECT_EQ(CompletionError(R"({"messages": []})").param, "messages");  // a chat field here
  EXPECT_EQ(CompletionError(R"({"prompt": "x", "suffix": "y"})").param, "suffix");
  EXPECT_EQ(ChatError(R"({"messages": [{"role": "user", "content": "x"}], "functions": []})").code,
            "unsupported_parameter");
}

}  // namespace
}  // namespace kvs::server
