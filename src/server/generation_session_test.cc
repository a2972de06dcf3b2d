#include "server/generation_session.h"

#include <gtest/gtest.h>

#include <map>

#include "server/sse.h"
#include "tokenizer/testing_llama2c_vocab.h"

namespace kvs::server {
namespace {

using Json = nlohmann::json;

class GenerationSessionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto vocab =
        testing::ReadLlama2cVocabForTest(std::string(KVS_SHARED_DIR) + "/models/tok512.bin");
    ASSERT_TRUE(vocab.ok()) << vocab.status().ToString();
    auto tok = Tokenizer::Create(std::move(vocab).value());
    ASSERT_TRUE(tok.ok());
    tokenizer_ = std::move(tok).value();
    stream_ = std::make_shared<OutputStream>(7);
  }

  std::unique_ptr<GenerationSession> Session(Endpoint e, bool logprobs, bool include_usage) {
    ResponseContext ctx;
    ctx.endpoint = e;
    ctx.id = MakeResponseId(e, 7);
    ctx.model = "m";
    ctx.logprobs = logprobs;
    return std::make_unique<GenerationSession>(ctx, std::vector{stream_}, tokenizer_.get(),
                                               std::vector<TokenId>{378}, include_usage, &metrics_,
                                               GenerationSession::Clock::now());
  }

  // A session over `n` streams (ids 10, 11, ...), returning n_returned.
  std::unique_ptr<GenerationSession> Choices(Endpoint e, int n, int n_returned,
                                             std::vector<std::shared_ptr<OutputStream>>* streams) {
    for (int i = 0; i < n; ++i) streams->push_back(std::make_shared<OutputStream>(10 + i));
    ResponseContext ctx;
    ctx.endpoint = e;
    ctx.id = MakeResponseId(e, 10);
    ctx.model = "m";
    return std::make_unique<GenerationSession>(ctx, *streams, tokenizer_.get(),
                                               std::vector<TokenId>(n, 378),
                                               /*include_usage=*/true, &metrics_,
                                               GenerationSession::Clock::now(), n, n_returned);
  }

  static StreamDelta Delta(std::vector<TokenId> tokens, std::string text, int completion,
                           FinishReason finish = FinishReason::kNone) {
    StreamDelta d;
    d.tokens = std::move(tokens);
    d.text = std::move(text);
    d.prompt_tokens = 5;
    d.cached_tokens = 0;
    d.completion_tokens = completion;
    d.finished = finish != FinishReason::kNone;
    d.finish_reason = finish;
    return d;
  }

  // Drains a streaming session into its SSE payloads.
  static std::vector<std::string> Drain(GenerationSession& s) {
    std::string all;
    for (int i = 0; i < 100 && !s.finished(); ++i) all += s.NextSse(std::chrono::milliseconds(1));
    return ParseSseData(all);
  }

  std::unique_ptr<Tokenizer> tokenizer_;
  std::shared_ptr<OutputStream> stream_;
  ServerMetrics metrics_;
};

TEST_F(GenerationSessionTest, ChatStreamFraming) {
  auto s = Session(Endpoint::kChat, false, /*include_usage=*/true);
  stream_->Push(Delta({261}, " a", 1));
  stream_->Push(Delta({262}, "b", 2, FinishReason::kLength));
  std::vector<std::string> events = Drain(*s);
  // role chunk, one coalesced content chunk, the finish chunk, usage, [DONE]
  ASSERT_EQ(events.size(), 5u);
  Json role = Json::parse(events[0]);
  EXPECT_EQ(role["choices"][0]["delta"]["role"], "assistant");
  EXPECT_EQ(Json::parse(events[1])["choices"][0]["delta"]["content"], " ab");
  EXPECT_EQ(Json::parse(events[2])["choices"][0]["finish_reason"], "length");
  Json usage = Json::parse(events[3]);
  EXPECT_TRUE(usage["choices"].empty());
  EXPECT_EQ(usage["usage"]["completion_tokens"], 2);
  EXPECT_EQ(events[4], "[DONE]");
  EXPECT_TRUE(s->finished());
  EXPECT_NE(metrics_.Render({}).find("kvserve_requests_total{finish_reason=\"length\"} 1"),
            std::string::npos);
}

TEST_F(GenerationSessionTest, EngineErrorMidStreamIsAnErrorEvent) {
  auto s = Session(Endpoint::kCompletion, false, false);
  StreamDelta d = Delta({}, "", 0, FinishReason::kError);
  d.error = InternalError("runner failed");
  stream_->Push(d);
  std::vector<std::string> events = Drain(*s);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_TRUE(Json::parse(events[0]).contains("error"));
  EXPECT_EQ(events[1], "[DONE]");
}

TEST_F(GenerationSessionTest, CollectBuildsLogprobsWithTokenText) {
  auto s = Session(Endpoint::kChat, /*logprobs=*/true, false);
  StreamDelta d = Delta({261, 262}, "xy", 2, FinishReason::kStop);
  d.samples = {SampleResult{261, -0.5f, {{261, -0.5f}}}, SampleResult{262, -1.0f, {{262, -1.0f}}}};
  stream_->Push(d);
  auto body = s->Collect();
  ASSERT_TRUE(body.ok());
  const Json& j = body.value();
  EXPECT_EQ(j["choices"][0]["message"]["content"], "xy");
  EXPECT_EQ(j["choices"][0]["finish_reason"], "stop");
  const Json& content = j["choices"][0]["logprobs"]["content"];
  ASSERT_EQ(content.size(), 2u);
  EXPECT_EQ(content[0]["token"], std::string(tokenizer_->Piece(378, 261)));
  EXPECT_EQ(content[1]["token"], std::string(tokenizer_->Piece(261, 262)));
  EXPECT_FLOAT_EQ(content[1]["logprob"].get<float>(), -1.0f);
}

// Each token after the first is one inter-token interval, however the reads
// fell: here the session reads three tokens at once, then one. Counting
// intervals per read after the first lost the two that came with the first
// token (ScaleoutServeTest saw no intervals at all on a loaded machine).
TEST_F(GenerationSessionTest, EveryTokenAfterTheFirstIsOneInterval) {
  auto s = Session(Endpoint::kCompletion, false, false);
  stream_->Push(Delta({261, 262, 263}, " abc", 3));
  ASSERT_FALSE(s->NextSse(std::chrono::milliseconds(100)).empty());
  stream_->Push(Delta({264}, "d", 4, FinishReason::kLength));
  for (int i = 0; i < 100 && !s->finished(); ++i) s->NextSse(std::chrono::milliseconds(1));
  ASSERT_TRUE(s->finished());
  const std::string text = metrics_.Render({});
  EXPECT_NE(text.find("kvserve_time_to_first_token_seconds_count 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("kvserve_inter_token_latency_seconds_count 3\n"), std::string::npos) << text;
}

TEST_F(GenerationSessionTest, CollectTurnsEngineErrorsIntoApiErrors) {
  auto s = Session(Endpoint::kCompletion, false, false);
  StreamDelta d = Delta({}, "", 0, FinishReason::kError);
  d.error = ResourceExhaustedError("no KV space");
  stream_->Push(d);
  auto body = s->Collect();
  ASSERT_FALSE(body.ok());
  EXPECT_EQ(body.error().http_status, 503);
}

TEST_F(GenerationSessionTest, DroppedClientCountsAsAbort) {
  {
    auto s = Session(Endpoint::kChat, false, false);
    s->NextSse(std::chrono::milliseconds(1));
  }  // destroyed unfinished
  EXPECT_NE(metrics_.Render({}).find("kvserve_requests_total{finish_reason=\"abort\"} 1"),
            std::string::npos);
}

TEST_F(GenerationSessionTest, ChoicesStreamWithTheirIndexAndSumUsage) {
  std::vector<std::shared_ptr<OutputStream>> streams;
  auto s = Choices(Endpoint::kChat, 3, 0, &streams);
  EXPECT_EQ(s->ids(), (std::vector<RequestId>{10, 11, 12}));
  streams[2]->Push(Delta({261}, "c", 1));
  streams[0]->Push(Delta({262}, "a", 1, FinishReason::kStop));
  streams[1]->Push(Delta({263, 264}, "bb", 2, FinishReason::kLength));
  streams[2]->Push(Delta({265}, "C", 2, FinishReason::kStop));
  std::vector<std::string> events = Drain(*s);
  std::map<int, std::string> text;
  std::map<int, std::string> finish;
  int roles = 0;
  for (const std::string& e : events) {
    if (e == "[DONE]") continue;
    const Json j = Json::parse(e);
    if (j.contains("usage") && j["choices"].empty()) {
      EXPECT_EQ(j["usage"]["completion_tokens"], 1 + 2 + 2);
      continue;
    }
    const Json& c = j["choices"][0];
    const int index = c["index"];
    if (c["delta"].contains("role")) ++roles;
    if (c["delta"].contains("content")) text[index] += c["delta"]["content"].get<std::string>();
    if (!c["finish_reason"].is_null()) finish[index] = c["finish_reason"];
  }
  EXPECT_EQ(roles, 3);
  EXPECT_EQ(text, (std::map<int, std::string>{{0, "a"}, {1, "bb"}, {2, "cC"}}));
  EXPECT_EQ(finish, (std::map<int, std::string>{{0, "stop"}, {1, "length"}, {2, "stop"}}));
  EXPECT_EQ(events.back(), "[DONE]");
}

TEST_F(GenerationSessionTest, BestOfReturnsTheMostLikelyChoices) {
  std::vector<std::shared_ptr<OutputStream>> streams;
  auto s = Choices(Endpoint::kCompletion, 3, /*n_returned=*/2, &streams);
  const float logprob[3] = {-3.0f, -0.5f, -1.0f};
  for (int i = 0; i < 3; ++i) {
    StreamDelta d = Delta({261}, std::string(1, static_cast<char>('x' + i)), 1, FinishReason::kStop);
    d.samples = {SampleResult{261, logprob[i], {}}};
    streams[i]->Push(d);
  }
  auto body = s->Collect();
  ASSERT_TRUE(body.ok());
  const Json& choices = body.value()["choices"];
  ASSERT_EQ(choices.size(), 2u);
  EXPECT_EQ(choices[0]["text"], "y");  // -0.5
  EXPECT_EQ(choices[1]["text"], "z");  // -1.0
  EXPECT_EQ(choices[0]["index"], 0);
  EXPECT_EQ(choices[1]["index"], 1);
  EXPECT_TRUE(choices[0]["logprobs"].is_null());  // not asked for
  EXPECT_EQ(body.value()["usage"]["completion_tokens"], 3);  // all generated tokens count
}

}  // namespace
}  // namespace kvs::server
