#include "base/status.h"

#include <gtest/gtest.h>

#include <memory>
#include <optional>

namespace kvs {
namespace {

StatusOr<int> ParsePositive(int x) {
  if (x <= 0) return InvalidArgumentError("not positive: " + std::to_string(x));
  return x;
}

Status UsesMacros(int x, int* out) {
  KVS_ASSIGN_OR_RETURN(int v, ParsePositive(x));
  KVS_RETURN_IF_ERROR(v > 100 ? OutOfRangeError("too big") : Status::Ok());
  *out = v;
  return Status::Ok();
}

TEST(StatusTest, OkIsCheapAndPrintsOk) {
  Status s;
  EXPECT_TRUE(s.ok());
  EXPECT_EQ(s.ToString(), "OK");
  EXPECT_EQ(s.code(), StatusCode::kOk);
}

TEST(StatusTest, ErrorCarriesCodeAndContext) {
  Status s = DataLossError("truncated header").WithContext("model.gguf");
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.code(), StatusCode::kDataLoss);
  EXPECT_EQ(s.ToString(), "DATA_LOSS: model.gguf: truncated header");
}

TEST(StatusTest, MacrosPropagate) {
  int out = 0;
  EXPECT_TRUE(UsesMacros(5, &out).ok());
  EXPECT_EQ(out, 5);
  EXPECT_EQ(UsesMacros(-1, &out).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(UsesMacros(101, &out).code(), StatusCode::kOutOfRange);
}

TEST(StatusTest, StatusOrHoldsMoveOnly) {
  StatusOr<std::unique_ptr<int>> p = std::make_unique<int>(7);
  ASSERT_TRUE(p.ok());
  std::unique_ptr<int> v = std::move(p).value();
  EXPECT_EQ(*v, 7);
}

// A StatusOr<std::optional<X>> made from std::nullopt is OK and holds an
// empty X? (it once left its value unconstructed: OK with nothing inside).
TEST(StatusTest, StatusOrOfOptionalHoldsNullopt) {
  StatusOr<std::optional<int>> none = std::nullopt;
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());

  StatusOr<std::optional<int>> three = std::optional<int>(3);
  ASSERT_TRUE(three.ok());
  EXPECT_EQ(three->value_or(0), 3);
}

}  // namespace
}  // namespace kvs
