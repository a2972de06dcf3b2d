#include "router/placement.h"

#include <gtest/gtest.h>

#include <map>
#include <set>

#include "router/worker_pool.h"

namespace kvs::router {
namespace {

std::vector<WorkerView> Workers(int n, const std::string& prefix,
                                const std::vector<std::string>& linked = {}) {
  std::vector<WorkerView> out;
  for (int i = 0; i < n; ++i) {
    WorkerView w;
    w.name = prefix + std::to_string(i);
    w.up = true;
    w.linked = linked;
    out.push_back(w);
  }
  return out;
}

TEST(PlacementTest, TheSamePrefixMeetsTheSameWorkersAndDifferentOnesSpread) {
  const auto decode = Workers(4, "d", {"p0", "p1", "p2"});
  const auto prefill = Workers(3, "p");
  std::map<int, int> decode_hits, prefill_hits;
  for (int i = 0; i < 200; ++i) {
    const uint64_t key = PrefixKey("", "prompt " + std::to_string(i));
    const PlacementChoice a = Place(decode, prefill, key);
    const PlacementChoice b = Place(decode, prefill, key);
    EXPECT_EQ(a.decode, b.decode);
    EXPECT_EQ(a.prefill, b.prefill);
    decode_hits[a.decode]++;
    prefill_hits[a.prefill]++;
  }
  // Rendezvous hashing spreads 200 keys over every worker, none starved.
  ASSERT_EQ(decode_hits.size(), 4u);
  ASSERT_EQ(prefill_hits.size(), 3u);
  for (auto [w, n] : decode_hits) EXPECT_GE(n, 25) << "decode " << w;
  for (auto [w, n] : prefill_hits) EXPECT_GE(n, 35) << "prefill " << w;
}

TEST(PlacementTest, TenantIsPartOfTheKey) {
  EXPECT_NE(PrefixKey("tenant-a", "same prompt"), PrefixKey("tenant-b", "same prompt"));
  EXPECT_EQ(PrefixKey("tenant-a", "same prompt"), PrefixKey("tenant-a", "same prompt"));
}

TEST(PlacementTest, ABusyWorkerLosesItsPrefixBeyondTheSlack) {
  auto decode = Workers(3, "d");
  const uint64_t key = PrefixKey("", "a popular system prompt");
  const int favourite = Place(decode, {}, key).decode;
  decode[favourite].load = 2;  // within slack 2 of the others' 0: kept
  EXPECT_EQ(Place(decode, {}, key, 2).decode, favourite);
  decode[favourite].load = 3;  // beyond: another worker takes it
  const int moved = Place(decode, {}, key, 2).decode;
  EXPECT_NE(moved, favourite);
  EXPECT_GE(moved, 0);
}

TEST(PlacementTest, ADecodeWorkerShortOfKvBlocksIsPassedOverWhileAnotherHasThem) {
  auto decode = Workers(3, "d");
  const uint64_t key = PrefixKey("", "some prompt");
  const int favourite = Place(decode, {}, key).decode;
  decode[favourite].kv_free = 0.05;
  const int moved = Place(decode, {}, key).decode;
  EXPECT_NE(moved, favourite);
  EXPECT_GE(moved, 0);
  // Every worker short: placed anyway (the worker queues it for blocks).
  for (auto& w : decode) w.kv_free = 0.0;
  EXPECT_EQ(Place(decode, {}, key).decode, favourite);
}

TEST(PlacementTest, DownAndExcludedWorkersAreNeverChosen) {
  auto decode = Workers(3, "d");
  for (int i = 0; i < 50; ++i) {
    decode[0].up = false;
    decode[1].excluded = true;
    EXPECT_EQ(Place(decode, {}, PrefixKey("", std::to_string(i))).decode, 2);
  }
  decode[2].up = false;
  EXPECT_EQ(Place(decode, {}, 1).decode, -1);
}

TEST(PlacementTest, OnlyAPrefillWorkerLinkedToTheDecodeWorkerIsChosen) {
  auto decode = Workers(1, "d", {"p1"});
  const auto prefill = Workers(3, "p");
  for (int i = 0; i < 50; ++i) {
    EXPECT_EQ(Place(decode, prefill, PrefixKey("", std::to_string(i))).prefill, 1);
  }
  decode[0].linked = {};  // no link: colocated on the decode worker
  const PlacementChoice c = Place(decode, prefill, 7);
  EXPECT_EQ(c.decode, 0);
  EXPECT_EQ(c.prefill, -1);
  decode[0].linked = {"p1"};
  auto down = prefill;
  down[1].up = false;
  EXPECT_EQ(Place(decode, down, 7).prefill, -1);
}

TEST(WorkerUrlTest, ParsesHostAndPortAndRefusesTheRest) {
  auto u = ParseWorkerUrl("http://10.0.0.7:8081/");
  ASSERT_TRUE(u.ok()) << u.status().ToString();
  EXPECT_EQ(u->host, "10.0.0.7");
  EXPECT_EQ(u->port, 8081);
  for (const char* bad : {"10.0.0.7:8081", "https://h:1", "http://h", "http://h:", "http://h:0",
                          "http://h:65536", "http://h:80/v1", "http://h:8x"}) {
    EXPECT_FALSE(ParseWorkerUrl(bad).ok()) << bad;
  }
}

}  // namespace
}  // namespace kvs::router
