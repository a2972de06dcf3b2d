#include "disagg/transport.h"

#include <gtest/gtest.h>

#include <numeric>
#include <thread>
#include <vector>

namespace kvs {
namespace {

class TransportTest : public ::testing::TestWithParam<TransportKind> {
 protected:
  // A connected pair over loopback: first the connecting side, then the accepted one.
  std::pair<std::unique_ptr<Transport>, std::unique_ptr<Transport>> Pair() {
    auto listener = ListenTransport(GetParam(), "127.0.0.1", 0);
    EXPECT_TRUE(listener.ok()) << listener.status().ToString();
    const int port = (*listener)->port();
    EXPECT_GT(port, 0);
    StatusOr<std::unique_ptr<Transport>> client = InternalError("not run");
    std::thread t([&] { client = ConnectTransport(GetParam(), "127.0.0.1", port, 5000); });
    auto server = (*listener)->Accept(5000);
    t.join();
    EXPECT_TRUE(client.ok()) << client.status().ToString();
    EXPECT_TRUE(server.ok()) << server.status().ToString();
    listeners_.push_back(std::move(listener).value());
    return {std::move(client).value(), std::move(server).value()};
  }
  std::vector<std::unique_ptr<TransportListener>> listeners_;
};

TEST_P(TransportTest, GatheredSendArrivesInOrderBothWays) {
  auto [a, b] = Pair();
  // 3 MiB in 300 uneven parts, so sends and receives split differently.
  std::vector<uint8_t> data(3 << 20);
  std::iota(data.begin(), data.end(), 0);
  for (size_t i = 0; i < data.size(); i += 4093) data[i] ^= static_cast<uint8_t>(i >> 12);
  std::vector<ConstBuffer> parts;
  size_t off = 0;
  for (int i = 0; off < data.size(); ++i) {
    const size_t n = std::min(data.size() - off, size_t(1 + (i * 7919) % 21000));
    parts.push_back({data.data() + off, n});
    off += n;
  }
  std::thread sender([&, &a = a] { ASSERT_TRUE(a->Send(parts).ok()); });
  std::vector<uint8_t> got(data.size());
  size_t pos = 0;
  for (size_t chunk : {size_t{1}, size_t{100000}, data.size() - 100001}) {
    ASSERT_TRUE(b->Receive(got.data() + pos, chunk).ok());
    pos += chunk;
  }
  sender.join();
  EXPECT_EQ(got, data);
  // And back, while nothing else is in flight.
  const uint64_t word = 0x0123456789abcdefull;
  ConstBuffer one{&word, sizeof(word)};
  ASSERT_TRUE(b->Send({&one, 1}).ok());
  uint64_t back = 0;
  ASSERT_TRUE(a->Receive(&back, sizeof(back)).ok());
  EXPECT_EQ(back, word);
}

TEST_P(TransportTest, PeerCloseFailsABlockedReceive) {
  auto [a, b] = Pair();
  std::thread closer([&, &a = a] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    a->Close();
  });
  uint64_t x;
  Status s = b->Receive(&x, sizeof(x));
  closer.join();
  EXPECT_FALSE(s.ok());
}

TEST_P(TransportTest, LocalCloseFailsABlockedReceive) {
  auto [a, b] = Pair();
  std::thread closer([&, &b = b] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    b->Close();
  });
  uint64_t x;
  EXPECT_FALSE(b->Receive(&x, sizeof(x)).ok());
  closer.join();
  ConstBuffer one{&x, sizeof(x)};
  EXPECT_FALSE(b->Send({&one, 1}).ok());
}

INSTANTIATE_TEST_SUITE_P(Kinds, TransportTest,
                         ::testing::Values(TransportKind::kTcp, TransportKind::kUcx),
                         [](const auto& info) {
                           return std::string(TransportKindName(info.param));
                         });

TEST(TransportKindTest, ParsesNames) {
  EXPECT_EQ(*ParseTransportKind("tcp"), TransportKind::kTcp);
  EXPECT_EQ(*ParseTransportKind("ucx"), TransportKind::kUcx);
  EXPECT_FALSE(ParseTransportKind("rdma").ok());
}

TEST(TransportKindTest, ConnectToNothingFailsCleanly) {
  auto listener = ListenTransport(TransportKind::kTcp, "127.0.0.1", 0);
  ASSERT_TRUE(listener.ok());
  const int port = (*listener)->port();
  listener->reset();
  EXPECT_FALSE(ConnectTransport(TransportKind::kTcp, "127.0.0.1", port, 100).ok());
  EXPECT_FALSE(ListenTransport(TransportKind::kTcp, "not-an-address", 0).ok());
}

}  // namespace
}  // namespace kvs
