#include "server/generation_session.h"

#include <gtest/gtest.h>

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
    return std::make_unique<GenerationSession>(ctx, stream_, tokenizer_.get(), /*last=*/378,
                                               include_usage, &metrics_,
                                               GenerationSession::Clock::now());
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

}  // namespace
}  // namespace kvs::server
