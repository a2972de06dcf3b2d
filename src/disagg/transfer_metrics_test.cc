#include "disagg/transfer_metrics.h"

#include <gtest/gtest.h>

namespace kvs {
namespace {

TEST(TransferMetricsTest, WritesEveryCounterWithItsRole) {
  TransferStats s;
  s.requests_ok = 3;
  s.requests_failed = 1;
  s.bytes = 123456789;
  s.blocks = 7;
  s.block_layers = 35;
  s.frames = 12;
  s.send_busy_s = 2.0;
  s.exposed_s = 0.5;
  s.layer_busy_s = {1.5, 0.5};
  s.layer_exposed_s = {0.0, 0.5};
  const std::string t = TransferMetricsText(s, "prefill");
  auto has = [&](const std::string& line) { return t.find(line + "\n") != std::string::npos; };
  EXPECT_TRUE(has("kvserve_kv_transfer_requests_total{role=\"prefill\",result=\"ok\"} 3")) << t;
  EXPECT_TRUE(has("kvserve_kv_transfer_requests_total{role=\"prefill\",result=\"failed\"} 1"));
  EXPECT_TRUE(has("kvserve_kv_transfer_bytes_total{role=\"prefill\"} 123456789"));
  EXPECT_TRUE(has("kvserve_kv_transfer_blocks_total{role=\"prefill\"} 7"));
  EXPECT_TRUE(has("kvserve_kv_transfer_block_layers_total{role=\"prefill\"} 35"));
  EXPECT_TRUE(has("kvserve_kv_transfer_seconds_total{role=\"prefill\",phase=\"exposed\"} 0.5"));
  // 1 - 0.5 / 2.0
  EXPECT_TRUE(has("kvserve_kv_transfer_hidden_ratio{role=\"prefill\"} 0.75"));
  EXPECT_TRUE(
      has("kvserve_kv_transfer_layer_seconds_total{role=\"prefill\",layer=\"1\",phase=\"exposed\"} "
          "0.5"));
  EXPECT_TRUE(has("# TYPE kvserve_kv_transfer_bytes_total counter"));
}

TEST(TransferMetricsTest, DecodeSideHasNoLayerLinesAndNothingSentIsAllHidden) {
  const std::string t = TransferMetricsText(TransferStats{}, "decode");
  EXPECT_EQ(t.find("layer_seconds"), std::string::npos);
  EXPECT_NE(t.find("kvserve_kv_transfer_hidden_ratio{role=\"decode\"} 1\n"), std::string::npos);
}

}  // namespace
}  // namespace kvs
