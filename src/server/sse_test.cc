#include "server/sse.h"

#include <gtest/gtest.h>

namespace kvs::server {
namespace {

TEST(SseTest, FramesEvents) {
  EXPECT_EQ(SseData("{\"a\":1}"), "data: {\"a\":1}\n\n");
  EXPECT_EQ(SseDone(), "data: [DONE]\n\n");
  EXPECT_EQ(SseComment("ping"), ": ping\n\n");
}

TEST(SseTest, ParsesWhatItFramesAndSkipsComments) {
  std::string stream =
      SseData("one") + SseComment("keep-alive") + SseData("two") + SseDone() + "data: partial";
  EXPECT_EQ(ParseSseData(stream), (std::vector<std::string>{"one", "two", "[DONE]"}));
}

TEST(SseTest, JoinsMultiLineData) {
  EXPECT_EQ(ParseSseData("event: x\ndata: a\ndata:b\n\n"), std::vector<std::string>{"a\nb"});
}

}  // namespace
}  // namespace kvs::server
