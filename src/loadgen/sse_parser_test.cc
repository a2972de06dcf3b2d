#include "loadgen/sse_parser.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace kvs::loadgen {
namespace {

std::vector<std::string> ParseInPieces(const std::string& stream, size_t piece) {
  std::vector<std::string> events;
  SseParser p([&](std::string_view d) { events.emplace_back(d); });
  for (size_t i = 0; i < stream.size(); i += piece) p.Feed(std::string_view(stream).substr(i, piece));
  return events;
}

TEST(SseParserTest, SplitsEventsWhateverThePieceSize) {
  const std::string stream =
      "data: {\"a\":1}\n\n: heartbeat\n\ndata: {\"b\":2}\r\n\r\nevent: x\ndata: [DONE]\n\n";
  for (size_t piece : {1, 2, 3, 7, 1000}) {
    auto events = ParseInPieces(stream, piece);
    ASSERT_EQ(events.size(), 3u) << "piece " << piece;
    EXPECT_EQ(events[0], "{\"a\":1}");
    EXPECT_EQ(events[1], "{\"b\":2}");
    EXPECT_EQ(events[2], "[DONE]");
  }
}

TEST(SseParserTest, JoinsMultiLineDataAndAcceptsNoSpaceAfterColon) {
  auto events = ParseInPieces("data:line1\ndata: line2\n\n", 4);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0], "line1\nline2");
}

TEST(SseParserTest, IncompleteEventIsNotFired) {
  std::vector<std::string> events;
  SseParser p([&](std::string_view d) { events.emplace_back(d); });
  p.Feed("data: {\"partial\":");
  EXPECT_TRUE(events.empty());
  EXPECT_GT(p.buffered(), 0u);
  p.Feed("1}\n");
  EXPECT_TRUE(events.empty());  // the line ended but the event did not
  p.Feed("\n");
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0], "{\"partial\":1}");
}

TEST(SseParserTest, CommentOnlyEventsAreIgnored) {
  auto events = ParseInPieces(": ping\n\n: ping\n\n", 5);
  EXPECT_TRUE(events.empty());
}

}  // namespace
}  // namespace kvs::loadgen
