#include "server/server_metrics.h"

#include <gtest/gtest.h>

namespace kvs::server {
namespace {

bool HasLine(const std::string& text, const std::string& line) {
  return text.find("\n" + line + "\n") != std::string::npos;
}

TEST(ServerMetricsTest, ExportsTheFixedNames) {
  ServerMetrics m;
  EngineStats s;
  s.requests_running = 2;
  s.requests_waiting = 5;
  s.prompt_tokens = 100;
  s.generated_tokens = 40;
  s.prefix_cache_queried_tokens = 96;
  s.prefix_cache_hit_tokens = 32;
  s.kv_blocks_total = 128;
  s.kv_blocks_used = 9;
  s.kv_tokens_used = 130;
  s.kv_block_size = 16;
  s.preemptions = 1;
  m.RecordFinish(FinishReason::kStop);
  m.RecordFinish(FinishReason::kStop);
  m.RecordFinish(FinishReason::kAbort);
  m.RecordTimeToFirstToken(0.02);
  m.RecordInterTokenLatency(0.01, 2);
  m.RecordE2eLatency(0.5);
  std::string text = m.Render(s);
  EXPECT_TRUE(HasLine(text, "kvserve_requests_running 2"));
  EXPECT_TRUE(HasLine(text, "kvserve_requests_waiting 5"));
  EXPECT_TRUE(HasLine(text, "kvserve_requests_total{finish_reason=\"stop\"} 2"));
  EXPECT_TRUE(HasLine(text, "kvserve_requests_total{finish_reason=\"abort\"} 1"));
  EXPECT_TRUE(HasLine(text, "kvserve_requests_total{finish_reason=\"length\"} 0"));
  EXPECT_TRUE(HasLine(text, "kvserve_prompt_tokens_total 100"));
  EXPECT_TRUE(HasLine(text, "kvserve_generation_tokens_total 40"));
  EXPECT_TRUE(HasLine(text, "kvserve_prefix_cache_queried_tokens_total 96"));
  EXPECT_TRUE(HasLine(text, "kvserve_prefix_cache_hit_tokens_total 32"));
  EXPECT_TRUE(HasLine(text, "kvserve_kv_blocks_total 128"));
  EXPECT_TRUE(HasLine(text, "kvserve_kv_blocks_used 9"));
  EXPECT_TRUE(HasLine(text, "kvserve_kv_tokens_used 130"));
  EXPECT_TRUE(HasLine(text, "kvserve_kv_block_size 16"));
  EXPECT_TRUE(HasLine(text, "kvserve_preemptions_total 1"));
  EXPECT_TRUE(HasLine(text, "kvserve_time_to_first_token_seconds_count 1"));
  EXPECT_TRUE(HasLine(text, "kvserve_inter_token_latency_seconds_count 2"));
  EXPECT_TRUE(HasLine(text, "kvserve_inter_token_latency_seconds_bucket{le=\"0.005\"} 2"));
  EXPECT_TRUE(HasLine(text, "kvserve_e2e_request_latency_seconds_count 1"));
}

}  // namespace
}  // namespace kvs::server
