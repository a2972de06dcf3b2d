#include "loadgen/load_runner.h"

#include <gtest/gtest.h>

#include <map>
#include <mutex>
#include <thread>

#include "loadgen/testing_fake_server.h"

namespace kvs::loadgen {
namespace {

std::unique_ptr<Scenario> Make(const std::string& name) {
  ScenarioOptions o;
  o.name = name;
  o.max_model_len = 512;
  o.chars_per_token = 3;
  auto s = MakeScenario(o);
  KVS_CHECK(s.ok()) << s.status().ToString();
  return std::move(s).value();
}

// A SendFn that takes `ms` and records what it was asked, without a network.
struct Recorder {
  std::mutex mu;
  std::vector<RequestSpec> sent;
  int in_flight = 0, max_in_flight = 0;
  int ms = 5;
  RequestResult operator()(const RequestSpec& spec, double start) {
    {
      std::lock_guard<std::mutex> lock(mu);
      sent.push_back(spec);
      max_in_flight = std::max(max_in_flight, ++in_flight);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(ms));
    {
      std::lock_guard<std::mutex> lock(mu);
      --in_flight;
    }
    RequestResult r;
    r.ok = true;
    r.start_s = NowSeconds() - start;
    r.tag = spec.tag;
    r.session = spec.session;
    r.turn = spec.turn;
    return r;
  }
};

TEST(LoadRunnerTest, ClosedLoopKeepsConcurrencyAndStopsAtTheCount) {
  auto s = Make("shared-system-prompt");
  Recorder rec;
  LoadOptions o;
  o.concurrency = 3;
  o.max_requests = 20;
  LoadRunner runner(s.get(), o, [&](const RequestSpec& q, double t) { return rec(q, t); });
  auto run = runner.Run(NowSeconds());
  ASSERT_TRUE(run.ok());
  EXPECT_EQ(run->requests.size(), 20u);
  EXPECT_EQ(rec.sent.size(), 20u);
  EXPECT_EQ(rec.max_in_flight, 3);
}

TEST(LoadRunnerTest, OpenLoopArrivesAtAboutTheRate) {
  auto s = Make("mixed-lengths");
  Recorder rec;
  rec.ms = 1;
  LoadOptions o;
  o.rate = 200;  // mean gap 5 ms
  o.max_requests = 60;
  o.seed = 3;
  LoadRunner runner(s.get(), o, [&](const RequestSpec& q, double t) { return rec(q, t); });
  auto run = runner.Run(NowSeconds());
  ASSERT_TRUE(run.ok());
  EXPECT_EQ(run->requests.size(), 60u);
  // 60 exponential gaps of mean 5 ms sum to 0.3 s; allow wide scheduling slack.
  EXPECT_GT(run->wall_s, 0.1);
  EXPECT_LT(run->wall_s, 3.0);
}

TEST(LoadRunnerTest, DurationBoundsARunWithManyRequestsLeft) {
  auto s = Make("shared-system-prompt");
  Recorder rec;
  rec.ms = 20;
  LoadOptions o;
  o.concurrency = 2;
  o.max_requests = 100000;
  o.duration_s = 0.3;
  LoadRunner runner(s.get(), o, [&](const RequestSpec& q, double t) { return rec(q, t); });
  auto run = runner.Run(NowSeconds());
  ASSERT_TRUE(run.ok());
  EXPECT_LT(run->wall_s, 1.0);
  EXPECT_LT(run->requests.size(), 100u);
  EXPECT_GT(run->requests.size(), 5u);
}

TEST(LoadRunnerTest, MultiTurnSendsTurnsOfASessionInOrder) {
  auto s = Make("multi-turn");
  Recorder rec;
  LoadOptions o;
  o.concurrency = 2;
  o.max_requests = 4 * s->lengths().turns;
  LoadRunner runner(s.get(), o, [&](const RequestSpec& q, double t) { return rec(q, t); });
  ASSERT_TRUE(runner.Run(NowSeconds()).ok());
  std::map<int64_t, int> next_turn;
  for (const auto& q : rec.sent) {
    EXPECT_EQ(q.turn, next_turn[q.session]) << "session " << q.session;
    next_turn[q.session] = q.turn + 1;
  }
  // The request budget may cut the last sessions short, so at least 4 started.
  EXPECT_GE(next_turn.size(), 4u);
  EXPECT_EQ(static_cast<int>(rec.sent.size()), o.max_requests);
}

TEST(LoadRunnerTest, NeedsARateOrAConcurrency) {
  auto s = Make("shared-system-prompt");
  LoadRunner runner(s.get(), LoadOptions{}, [](const RequestSpec&, double) {
    return RequestResult{};
  });
  EXPECT_EQ(runner.Run(NowSeconds()).status().code(), StatusCode::kInvalidArgument);
}

TEST(LoadRunnerTest, DrivesAFakeServerOverHttp) {
  testing::FakeOpenAiServer server({});
  auto s = Make("shared-system-prompt");
  Endpoint ep;
  ep.host = "127.0.0.1";
  ep.port = server.port();
  LoadOptions o;
  o.concurrency = 4;
  o.max_requests = 8;
  LoadRunner runner(s.get(), o, [&](const RequestSpec& q, double t) {
    return SendStreaming(ep, q, o.stream, t);
  });
  auto run = runner.Run(NowSeconds());
  ASSERT_TRUE(run.ok());
  ASSERT_EQ(run->requests.size(), 8u);
  for (const auto& r : run->requests) EXPECT_TRUE(r.ok) << r.error;
  EXPECT_EQ(server.requests(), 8);
}

}  // namespace
}  // namespace kvs::loadgen
