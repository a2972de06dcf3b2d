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
  s.queue_s = 0.25;
  const std::string t = TransferMetricsText(s, "prefill");
  auto has = [&](const std::string& line) { return t.find(line + "\n") != std::string::npos; };
  EXPECT_TRUE(has("kvserve_kv_transfer_requests_total{role=\"prefill\",result=\"ok\"} 3")) << t;
  EXPECT_TRUE(has("kvserve_kv_transfer_requests_total{role=\"prefill\",result=\"failed\"} 1"));
  EXPECT_TRUE(has("kvserve_kv_transfer_bytes_total{role=\"prefill\"} 123456789"));
  EXPECT_TRUE(has("kvserve_kv_transfer_blocks_total{role=\"prefill\"} 7"));
  EXPECT_TRUE(has("kvserve_kv_transfer_block_layers_total{role=\"prefill\"} 35"));
  EXPECT_TRUE(has("kvserve_kv_transfer_seconds_total{role=\"prefill\",phase=\"exposed\"} 0.5"));
  EXPECT_TRUE(has("kvserve_kv_transfer_seconds_total{role=\"prefill\",phase=\"queue\"} 0.25"));
  // 1 - 0.5 / 2.0
  EXPECT_TRUE(has("kvserve_kv_transfer_hidden_ratio{role=\"prefill\"} 0.75"));
  EXPECT_TRUE(
      has("kvserve_kv_transfer_layer_seconds_total{role=\"prefill\",layer=\"1\",phase=\"exposed\"} "
          "0.5"));
  EXPECT_TRUE(has("# TYPE kvserve_kv_transfer_bytes_total counter"));
}

TEST(TransferMetricsTest, SumsAddEveryCounterAndLayerByLayer) {
  TransferStats a, b;
  a.requests_ok = 2;
  a.bytes = 10;
  a.queue_s = 1.0;
  a.layer_busy_s = {1.0};
  b.requests_ok = 3;
  b.bytes = 5;
  b.transfer_s = 0.5;
  b.layer_busy_s = {0.25, 2.0};
  b.layer_exposed_s = {0.0, 1.0};
  a += b;
  EXPECT_EQ(a.requests_ok, 5);
  EXPECT_EQ(a.bytes, 15);
  EXPECT_EQ(a.queue_s, 1.0);
  EXPECT_EQ(a.transfer_s, 0.5);
  EXPECT_EQ(a.layer_busy_s, (std::vector<double>{1.25, 2.0}));
  EXPECT_EQ(a.layer_exposed_s, (std::vector<double>{0.0, 1.0}));
}

TEST(TransferMetricsTest, DecodeSideHasNoLayerLinesAndNothingSentIsAllHidden) {
  const std::string t = TransferMetricsText(TransferStats{}, "decode");
  EXPECT_EQ(t.find("layer_seconds"), std::string::npos);
  EXPECT_NE(t.find("kvserve_kv_transfer_hidden_ratio{role=\"decode\"} 1\n"), std::string::npos);
}

}  // namespace
}  // namespace kvs
