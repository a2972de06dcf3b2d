#include "loadgen/ablation.h"

#include <gtest/gtest.h>

namespace kvs::loadgen {
namespace {

TEST(AblationTest, Presets) {
  auto pc = ParseAblation("prefix-cache");
  ASSERT_TRUE(pc.ok());
  ASSERT_EQ(pc->size(), 2u);
  EXPECT_TRUE((*pc)[0].server_args.empty());
  EXPECT_EQ((*pc)[1].server_args, std::vector<std::string>{"--no-prefix-caching"});
  auto cp = ParseAblation("chunked-prefill=32");
  ASSERT_TRUE(cp.ok());
  EXPECT_EQ((*cp)[0].server_args, (std::vector<std::string>{"--max-batched-tokens", "32"}));
  EXPECT_EQ((*cp)[1].server_args, std::vector<std::string>{"--no-chunked-prefill"});
}

TEST(AblationTest, ValueLists) {
  auto kv = ParseAblation("kv-budget=1,4,16");
  ASSERT_TRUE(kv.ok());
  ASSERT_EQ(kv->size(), 3u);
  EXPECT_EQ((*kv)[2].server_args, (std::vector<std::string>{"--kv-cache-tokens", "16"}));
  auto bs = ParseAblation("block-size=16,32");
  ASSERT_TRUE(bs.ok());
  EXPECT_EQ((*bs)[1].server_args, (std::vector<std::string>{"--kv-block-size", "32"}));
}

TEST(AblationTest, DisaggComparesTwoColocatedThreadCountsWithOneWorkerPair) {
  auto d = ParseAblation("disagg=ucx");
  ASSERT_TRUE(d.ok());
  ASSERT_EQ(d->size(), 3u);
  EXPECT_EQ((*d)[0].server_args, (std::vector<std::string>{"--threads", "2"}));
  EXPECT_FALSE((*d)[0].disagg);
  EXPECT_EQ((*d)[1].server_args, (std::vector<std::string>{"--threads", "1"}));
  EXPECT_TRUE((*d)[2].disagg);
  EXPECT_TRUE((*d)[2].server_args.empty());
  EXPECT_EQ((*d)[2].prefill_args, (std::vector<std::string>{"--threads", "1"}));
  EXPECT_EQ((*d)[2].decode_args, (std::vector<std::string>{"--threads", "1"}));
  EXPECT_EQ((*d)[2].kv_transport, "ucx");
  EXPECT_EQ(ParseAblation("disagg")->at(2).kv_transport, "tcp");
  EXPECT_FALSE(ParseAblation("disagg=rdma").ok());
}

TEST(AblationTest, Errors) {
  EXPECT_FALSE(ParseAblation("warp-drive").ok());
  EXPECT_FALSE(ParseAblation("block-size").ok());
  EXPECT_FALSE(ParseAblation("block-size=16,x").ok());
  EXPECT_FALSE(ParseAblation("kv-budget=4,,8").ok());
  EXPECT_FALSE(RunAblation("prefix-cache", BenchConfig{}).ok());  // no -m: cannot restart
}

}  // namespace
}  // namespace kvs::loadgen
