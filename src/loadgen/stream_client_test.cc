#include "loadgen/stream_client.h"

#include <gtest/gtest.h>

#include "loadgen/endpoint.h"
#include "loadgen/server_process.h"
#include "loadgen/testing_fake_server.h"

namespace kvs::loadgen {
namespace {

RequestSpec Spec(const std::string& user) {
  RequestSpec r;
  r.messages = {{"system", "You tell stories."}, {"user", user}};
  r.max_tokens = 5;
  r.tag = "t";
  return r;
}

Endpoint Local(int port) {
  Endpoint ep;
  ep.host = "127.0.0.1";
  ep.port = port;
  return ep;
}

TEST(EndpointTest, ParsesUrls) {
  auto a = ParseEndpoint("http://127.0.0.1:8080");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->host, "127.0.0.1");
  EXPECT_EQ(a->port, 8080);
  EXPECT_EQ(a->base_path, "");
  auto b = ParseEndpoint("localhost:9000/api/");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->port, 9000);
  EXPECT_EQ(b->base_path, "/api");
  EXPECT_FALSE(ParseEndpoint("https://x:1").ok());
  EXPECT_FALSE(ParseEndpoint("http://x:0").ok());
  EXPECT_FALSE(ParseEndpoint("http://x:80a").ok());
  EXPECT_FALSE(ParseEndpoint("ftp://x").ok());
}

TEST(StreamClientTest, TimesFirstTokenAndGapsBetweenContentChunks) {
  testing::FakeServerOptions o;
  o.n_tokens = 5;
  o.first_token_delay_ms = 60;
  o.token_delay_ms = 20;
  testing::FakeOpenAiServer server(o);
  Endpoint ep = Local(server.port());
  ep.api_key = "sk-default";
  RequestResult r = SendStreaming(ep, Spec("Tell me a story."), StreamOptions{}, NowSeconds());
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.http_status, 200);
  EXPECT_EQ(r.content_events, 5);
  EXPECT_EQ(r.text, "tok 0tok 1tok 2tok 3tok 4");
  EXPECT_GE(r.ttft_ms, 60);  // the role-only chunk before does not count
  ASSERT_EQ(r.itl_ms.size(), 4u);
  // The server sleeps 20 ms between chunks; a client descheduled under load
  // may read two at once (one gap near 0, the next near 40), so the gaps
  // are checked in sum, each only for sign.
  double gaps = 0;
  for (double gap : r.itl_ms) {
    EXPECT_GE(gap, 0);
    gaps += gap;
  }
  EXPECT_GE(gaps, 4 * 19);  // sleep granularity
  EXPECT_GE(r.e2e_ms, r.ttft_ms + 4 * 19);
  EXPECT_TRUE(r.usage_seen);
  EXPECT_EQ(r.output_tokens, 5);
  EXPECT_GT(r.prompt_tokens, 0);
  EXPECT_EQ(r.cached_tokens, r.prompt_tokens / 2);
  EXPECT_EQ(r.tag, "t");
  EXPECT_EQ(server.last_auth(), "Bearer sk-default");
  EXPECT_NEAR(r.TpotMs(), (r.e2e_ms - r.ttft_ms) / 4, 1e-9);
}

TEST(StreamClientTest, RequestKeyOverridesTheDefault) {
  testing::FakeOpenAiServer server({});
  Endpoint ep = Local(server.port());
  ep.api_key = "sk-default";
  RequestSpec spec = Spec("hi");
  spec.api_key = "sk-tenant-1";
  ASSERT_TRUE(SendStreaming(ep, spec, {}, NowSeconds()).ok);
  EXPECT_EQ(server.last_auth(), "Bearer sk-tenant-1");
}

TEST(StreamClientTest, HttpErrorIsAFailureWithTheBody) {
  testing::FakeOpenAiServer server({});
  RequestResult r = SendStreaming(Local(server.port()), Spec("please FAIL"), {}, NowSeconds());
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.http_status, 503);
  EXPECT_NE(r.error.find("overloaded"), std::string::npos) << r.error;
}

TEST(StreamClientTest, StreamWithoutDoneIsAFailure) {
  testing::FakeServerOptions o;
  o.send_done = false;
  testing::FakeOpenAiServer server(o);
  RequestResult r = SendStreaming(Local(server.port()), Spec("hi"), {}, NowSeconds());
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.error.find("[DONE]"), std::string::npos) << r.error;
}

TEST(StreamClientTest, WithoutUsageOutputTokensAreContentEvents) {
  testing::FakeServerOptions o;
  o.send_usage = false;
  o.n_tokens = 3;
  testing::FakeOpenAiServer server(o);
  RequestResult r = SendStreaming(Local(server.port()), Spec("hi"), {}, NowSeconds());
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_FALSE(r.usage_seen);
  EXPECT_EQ(r.output_tokens, 3);
}

TEST(StreamClientTest, NoServerIsATransportFailure) {
  auto port = PickFreeLoopbackPort();  // free a moment ago: nothing listens there
  ASSERT_TRUE(port.ok());
  RequestResult r = SendStreaming(Local(*port), Spec("hi"), {}, NowSeconds());
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.error.find("transport"), std::string::npos) << r.error;
}

}  // namespace
}  // namespace kvs::loadgen
