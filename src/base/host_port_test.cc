#include "base/host_port.h"

#include <gtest/gtest.h>

namespace kvs {
namespace {

TEST(HostPortTest, ParsesHostAndPort) {
  auto hp = ParseHostPort("10.0.0.7:8081");
  ASSERT_TRUE(hp.ok()) << hp.status().ToString();
  EXPECT_EQ(hp->host, "10.0.0.7");
  EXPECT_EQ(hp->port, 8081);
  EXPECT_EQ(ParseHostPort("decode-0.svc:1")->host, "decode-0.svc");
  EXPECT_EQ(*ParsePort("65535"), 65535);
}

TEST(HostPortTest, RefusesWhatIsNotHostAndPort) {
  for (const char* bad : {"", "host", ":80", "host:", "host:0", "host:65536", "host:8x", "host:-1",
                          "host: 80", "host:80 "}) {
    EXPECT_FALSE(ParseHostPort(bad).ok()) << bad;
  }
  EXPECT_NE(ParseHostPort("h:99999").status().message().find("h:99999"), std::string::npos);
}

}  // namespace
}  // namespace kvs
