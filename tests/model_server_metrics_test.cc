// The model-server-protocol metrics (vLLM's names) while the engine runs a
// scripted workload: what GET /metrics serves (ServerMetrics::Render of the
// engine loop's stats, openai_server.cc) is parsed by a strict Prometheus
// text parser (prometheus_strict.h); every protocol family has vLLM's type
// and labels, and its value matches the workload's state at the scrape within
// one step: the requests running and waiting are known from the script, the
// KV use from the tokens each running request has streamed so far.
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "engine/engine_loop.h"
#include "engine/testing_fake_runner.h"
#include "prometheus_strict.h"
#include "server/server_metrics.h"

namespace kvs::model_server_metrics_test {
namespace {

constexpr int kBlockSize = 4;
constexpr int kBlocks = 60;

int CeilDiv(int a, int b) { return (a + b - 1) / b; }

TEST(ModelServerMetricsTest, ProtocolMetricsMatchTheScriptedWorkload) {
  auto runner = std::make_unique<testing::FakeModelRunner>(64, kBlockSize, kBlocks, 256);
  runner->SetRunDelay(std::chrono::milliseconds(15));  // steps slow enough to scrape between
  EngineConfig ec;
  ec.max_running = 2;
  auto loop_or = EngineLoop::Create(std::move(runner), nullptr, ec);
  ASSERT_TRUE(loop_or.ok());
  EngineLoop& loop = **loop_or;
  server::ServerMetrics metrics("tiny-model");

  // Five requests, two at a time. Request 2 and 4 share request 0's first
  // two blocks (8 tokens), so they hit the prefix cache when admitted.
  const std::vector<TokenId> shared = {3, 9, 27, 17, 51, 25, 11, 33};
  std::vector<std::vector<TokenId>> prompts = {{3, 9, 27, 17, 51, 25, 11, 33, 5, 6},
                                               {40, 41, 42, 43, 44, 45},
                                               {3, 9, 27, 17, 51, 25, 11, 33, 7, 8, 9, 10, 12},
                                               {50, 51, 52, 53, 54, 55, 56},
                                               {3, 9, 27, 17, 51, 25, 11, 33, 60}};
  const int kMaxTokens = 30;
  std::vector<std::shared_ptr<OutputStream>> streams;
  for (const auto& p : prompts) {
    GenerationRequest r;
    r.prompt = p;
    r.stop.max_tokens = kMaxTokens;
    r.stop.ignore_eos = true;
    r.sampling.temperature = 0;
    auto s = loop.Submit(std::move(r));
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    streams.push_back(*s);
  }
  std::vector<int> received(prompts.size(), 0);
  auto drain = [&] {
    for (size_t i = 0; i < streams.size(); ++i) {
      while (auto d = streams[i]->Next(std::chrono::milliseconds(0))) {
        received[i] += static_cast<int>(d->tokens.size());
      }
    }
  };
  // Until the first two have begun to decode.
  for (int i = 0; i < 400 && (received[0] < 2 || received[1] < 2); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    drain();
  }
  ASSERT_GE(received[0], 2);

  int n_scrapes = 0;
  while (received[0] < kMaxTokens - 4 && received[1] < kMaxTokens - 4) {
    drain();
    const std::vector<int> before = received;
    const std::string text = metrics.Render(loop.Stats());
    drain();
    const std::vector<int> after = received;
    const testing::PromParse p = testing::ParsePrometheusStrict(text);
    ASSERT_TRUE(p.error.empty()) << p.error << "\n" << text;
    ++n_scrapes;

    // Types as vLLM exposes them (prometheus_client: counters as *_total).
    EXPECT_EQ(p.families.at("vllm:num_requests_running").type, "gauge");
    EXPECT_EQ(p.families.at("vllm:num_requests_waiting").type, "gauge");
    EXPECT_EQ(p.families.at("vllm:kv_cache_usage_perc").type, "gauge");
    EXPECT_EQ(p.families.at("vllm:gpu_cache_usage_perc").type, "gauge");
    EXPECT_EQ(p.families.at("vllm:cache_config_info").type, "gauge");
    EXPECT_EQ(p.families.at("vllm:lora_requests_info").type, "gauge");
    EXPECT_EQ(p.families.at("vllm:prefix_cache_queries_total").type, "counter");
    EXPECT_EQ(p.families.at("vllm:prefix_cache_hits_total").type, "counter");
    EXPECT_EQ(p.families.at("vllm:time_to_first_token_seconds").type, "histogram");
    EXPECT_EQ(p.families.at("vllm:inter_token_latency_seconds").type, "histogram");
    const std::map<std::string, std::string> ml = {{"model_name", "tiny-model"}, {"engine", "0"}};

    // The script: requests 0 and 1 run, 2-4 wait.
    EXPECT_EQ(p.Value("vllm:num_requests_running", "vllm:num_requests_running", ml), 2);
    EXPECT_EQ(p.Value("vllm:num_requests_waiting", "vllm:num_requests_waiting", ml), 3);
    // KV use: after the step that streamed a request's g-th token, it holds
    // the blocks of its prompt and output but that last sampled token
    // (n + g - 1 tokens). The stats may lag the streams by one step (they
    // are published after the step's tokens are pushed), so g is between
    // one less than what was streamed before the scrape and what was
    // streamed after it.
    int lo = 0, hi = 0;
    for (int i = 0; i < 2; ++i) {
      const int n = static_cast<int>(prompts[i].size());
      lo += CeilDiv(n + before[i] - 2, kBlockSize);
      hi += CeilDiv(n + after[i] - 1, kBlockSize);
    }
    const double usage = p.Value("vllm:kv_cache_usage_perc", "vllm:kv_cache_usage_perc", ml);
    // /metrics prints 9 significant digits.
    EXPECT_GE(usage * kBlocks, lo - 1e-6) << "usage " << usage;
    EXPECT_LE(usage * kBlocks, hi + 1e-6) << "usage " << usage;
    EXPECT_GE(usage, 0.0);
    EXPECT_LE(usage, 1.0);
    EXPECT_EQ(p.Value("vllm:gpu_cache_usage_perc", "vllm:gpu_cache_usage_perc", ml), usage);
    // Only the two running requests have been looked up; nothing shared yet.
    EXPECT_EQ(p.Value("vllm:prefix_cache_queries_total", "vllm:prefix_cache_queries_total", ml),
              prompts[0].size() + prompts[1].size());
    EXPECT_EQ(p.Value("vllm:prefix_cache_hits_total", "vllm:prefix_cache_hits_total", ml), 0);
    EXPECT_EQ(p.Value("vllm:cache_config_info", "vllm:cache_config_info",
                      {{"block_size", "4"}, {"num_gpu_blocks", "60"}}),
              1);
    const double lora =
        p.Value("vllm:lora_requests_info", "vllm:lora_requests_info",
                {{"max_lora", "0"}, {"running_lora_adapters", ""}, {"waiting_lora_adapters", ""}});
    EXPECT_GT(lora, 1.7e9);  // set to the scrape's Unix time, as vLLM does
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_GE(n_scrapes, 5);

  // After the whole script: nothing runs or waits; requests 2 and 4 each hit
  // the 8 shared tokens (request 0's blocks are cached by then).
  for (auto& s : streams) s->WaitAll();
  for (int i = 0; i < 200 && (loop.Stats().requests_running > 0); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  const testing::PromParse p = testing::ParsePrometheusStrict(metrics.Render(loop.Stats()));
  ASSERT_TRUE(p.error.empty()) << p.error;
  const std::map<std::string, std::string> ml = {{"model_name", "tiny-model"}, {"engine", "0"}};
  EXPECT_EQ(p.Value("vllm:num_requests_running", "vllm:num_requests_running", ml), 0);
  EXPECT_EQ(p.Value("vllm:num_requests_waiting", "vllm:num_requests_waiting", ml), 0);
  EXPECT_EQ(p.Value("vllm:kv_cache_usage_perc", "vllm:kv_cache_usage_perc", ml), 0);
  size_t total = 0;
  for (const auto& pr : prompts) total += pr.size();
  EXPECT_EQ(p.Value("vllm:prefix_cache_queries_total", "vllm:prefix_cache_queries_total", ml),
            total);
  EXPECT_EQ(p.Value("vllm:prefix_cache_hits_total", "vllm:prefix_cache_hits_total", ml),
            2 * shared.size());
  EXPECT_EQ(p.Value("vllm:generation_tokens_total", "vllm:generation_tokens_total", ml),
            5 * kMaxTokens);
}

TEST(ModelServerMetricsTest, LatencyHistogramsUseVllmBucketsAndLabels) {
  server::ServerMetrics metrics("m");
  metrics.RecordTimeToFirstToken(0.03);      // vLLM bucket le=0.04
  metrics.RecordInterTokenLatency(0.12, 3);  // 3 tokens of 0.04 s: le=0.05
  const testing::PromParse p = testing::ParsePrometheusStrict(metrics.Render(EngineStats{}, 1.8e9));
  ASSERT_TRUE(p.error.empty()) << p.error;
  const std::map<std::string, std::string> ml = {{"model_name", "m"}, {"engine", "0"}};
  auto bucket = [&](const char* fam, const char* le) {
    std::map<std::string, std::string> l = ml;
    l["le"] = le;
    return p.Value(fam, std::string(fam) + "_bucket", l);
  };
  EXPECT_EQ(bucket("vllm:time_to_first_token_seconds", "0.02"), 0);
  EXPECT_EQ(bucket("vllm:time_to_first_token_seconds", "0.04"), 1);
  EXPECT_EQ(bucket("vllm:time_to_first_token_seconds", "2560"), 1);
  EXPECT_EQ(bucket("vllm:time_to_first_token_seconds", "+Inf"), 1);
  EXPECT_EQ(bucket("vllm:inter_token_latency_seconds", "0.025"), 0);
  EXPECT_EQ(bucket("vllm:inter_token_latency_seconds", "0.05"), 3);
  EXPECT_EQ(bucket("vllm:inter_token_latency_seconds", "80"), 3);
  EXPECT_NEAR(
      p.Value("vllm:inter_token_latency_seconds", "vllm:inter_token_latency_seconds_sum", ml), 0.12,
      1e-9);
  EXPECT_EQ(p.families.at("vllm:time_to_first_token_seconds").samples.size(), 22u + 1 + 2);
  EXPECT_EQ(p.families.at("vllm:inter_token_latency_seconds").samples.size(), 19u + 1 + 2);
  EXPECT_EQ(p.Value("vllm:lora_requests_info", "vllm:lora_requests_info"), 1.8e9);
}

TEST(ModelServerMetricsTest, StrictParserRejectsMalformedText) {
  using testing::ParsePrometheusStrict;
  EXPECT_TRUE(ParsePrometheusStrict("# TYPE a gauge\na 1\n").error.empty());
  EXPECT_FALSE(ParsePrometheusStrict("a 1\n").error.empty());                       // no TYPE
  EXPECT_FALSE(ParsePrometheusStrict("# TYPE a gauge\na{x=1} 1\n").error.empty());  // unquoted
  EXPECT_FALSE(ParsePrometheusStrict("# TYPE a gauge\na one\n").error.empty());
  EXPECT_FALSE(ParsePrometheusStrict("# TYPE a gauge\na 1\na 2\n").error.empty());  // duplicate
  EXPECT_FALSE(ParsePrometheusStrict("# TYPE a counter\na -1\n").error.empty());
  EXPECT_FALSE(ParsePrometheusStrict("# TYPE h histogram\nh_bucket{le=\"1\"} 2\n"
                                     "h_bucket{le=\"+Inf\"} 1\nh_count 1\n")
                   .error.empty());  // not cumulative
  EXPECT_FALSE(ParsePrometheusStrict("# TYPE 1a gauge\n").error.empty());
}

}  // namespace
}  // namespace kvs::model_server_metrics_test
