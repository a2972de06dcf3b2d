#include "engine/output_stream.h"

#include <gtest/gtest.h>

#include <thread>

namespace kvs {
namespace {

using std::chrono::milliseconds;

StreamDelta Delta(std::vector<TokenId> t, std::string text, bool finished = false) {
  StreamDelta d;
  d.tokens = std::move(t);
  d.text = std::move(text);
  d.completion_tokens = 0;
  d.finished = finished;
  if (finished) d.finish_reason = FinishReason::kLength;
  return d;
}

TEST(OutputStreamTest, CoalescesQueuedDeltas) {
  OutputStream s(7);
  EXPECT_EQ(s.id(), 7);
  EXPECT_FALSE(s.Next(milliseconds(0)).has_value());
  s.Push(Delta({1}, "a"));
  auto d2 = Delta({2, 3}, "bc");
  d2.completion_tokens = 3;
  s.Push(d2);
  auto got = s.Next(milliseconds(0));
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->tokens, (std::vector<TokenId>{1, 2, 3}));
  EXPECT_EQ(got->text, "abc");
  EXPECT_EQ(got->completion_tokens, 3);
  EXPECT_FALSE(got->finished);
  EXPECT_FALSE(s.Next(milliseconds(0)).has_value());
}

TEST(OutputStreamTest, AfterFinishedNextReturnsNulloptAtOnce) {
  OutputStream s(1);
  s.Push(Delta({4}, "x", /*finished=*/true));
  EXPECT_TRUE(s.finished());
  auto got = s.Next(milliseconds(0));
  ASSERT_TRUE(got.has_value());
  EXPECT_TRUE(got->finished);
  EXPECT_EQ(got->finish_reason, FinishReason::kLength);
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_FALSE(s.Next(milliseconds(2000)).has_value());
  EXPECT_LT(std::chrono::steady_clock::now() - t0, milliseconds(500));
}

TEST(OutputStreamTest, WaitAllAcrossThreads) {
  OutputStream s(1);
  std::thread producer([&] {
    for (int i = 0; i < 100; ++i) s.Push(Delta({TokenId(i)}, "t"));
    s.Push(Delta({}, "", true));
  });
  StreamDelta all = s.WaitAll();
  producer.join();
  ASSERT_EQ(all.tokens.size(), 100u);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(all.tokens[i], i);
  EXPECT_EQ(all.text, std::string(100, 't'));
  EXPECT_TRUE(all.finished);
}

TEST(OutputStreamTest, FinishReasonNames) {
  EXPECT_STREQ(FinishReasonName(FinishReason::kStop), "stop");
  EXPECT_STREQ(FinishReasonName(FinishReason::kLength), "length");
  EXPECT_STREQ(FinishReasonName(FinishReason::kAbort), "abort");
  EXPECT_STREQ(FinishReasonName(FinishReason::kError), "error");
}

}  // namespace
}  // namespace kvs
