#include "jinja/value.h"

#include <gtest/gtest.h>

#include <cmath>

namespace kvs::jinja {
namespace {

TEST(PyFloatReprTest, ShortestRoundTripInPythonsLayout) {
  EXPECT_EQ(PyFloatRepr(1.0), "1.0");
  EXPECT_EQ(PyFloatRepr(0.1), "0.1");
  EXPECT_EQ(PyFloatRepr(0.1 + 0.2), "0.30000000000000004");
  EXPECT_EQ(PyFloatRepr(-2.5), "-2.5");
  EXPECT_EQ(PyFloatRepr(1e16), "1e+16");
  EXPECT_EQ(PyFloatRepr(1e15), "1000000000000000.0");
  EXPECT_EQ(PyFloatRepr(1.5e-7), "1.5e-07");
  EXPECT_EQ(PyFloatRepr(0.0001), "0.0001");
  EXPECT_EQ(PyFloatRepr(0.00001), "1e-05");
  EXPECT_EQ(PyFloatRepr(123456789012345678.0), "1.2345678901234568e+17");
  EXPECT_EQ(PyFloatRepr(-0.0), "-0.0");
  EXPECT_EQ(PyFloatRepr(INFINITY), "inf");
  EXPECT_EQ(PyFloatRepr(NAN), "nan");
}

TEST(PyStrReprTest, QuotesAndEscapesAsCPython) {
  EXPECT_EQ(PyStrRepr("abc"), "'abc'");
  EXPECT_EQ(PyStrRepr("it's"), "\"it's\"");
  EXPECT_EQ(PyStrRepr("a\"b"), "'a\"b'");
  EXPECT_EQ(PyStrRepr("both ' and \""), "'both \\' and \"'");
  EXPECT_EQ(PyStrRepr("new\nline\t\\"), "'new\\nline\\t\\\\'");
  EXPECT_EQ(PyStrRepr("\x01"), "'\\x01'");
  EXPECT_EQ(PyStrRepr("é日"), "'é日'");
}

TEST(ValueTest, StrReprAndTruth) {
  EXPECT_EQ(Value().Str(), "");
  EXPECT_EQ(Value::None().Str(), "None");
  EXPECT_EQ(Value(true).Str(), "True");
  EXPECT_EQ(Value(int64_t{-3}).Str(), "-3");
  EXPECT_EQ(Value::MakeList({Value("a"), Value(1), Value::None()}).Str(), "['a', 1, None]");
  EXPECT_EQ(Value::MakeTuple({Value("a")}).Str(), "('a',)");
  Dict d;
  d.Set("k", Value(1.5));
  EXPECT_EQ(Value::MakeDict(d).Str(), "{'k': 1.5}");
  EXPECT_FALSE(Value().Truthy());
  EXPECT_FALSE(Value("").Truthy());
  EXPECT_FALSE(Value::MakeList({}).Truthy());
  EXPECT_TRUE(Value::MakeTuple({Value(0)}).Truthy());
  EXPECT_FALSE(Value(0.0).Truthy());
}

TEST(ValueTest, EqualityAndOrderFollowPython) {
  EXPECT_TRUE(Value(1).Equals(Value(1.0)));
  EXPECT_TRUE(Value(true).Equals(Value(1)));
  EXPECT_FALSE(Value("1").Equals(Value(1)));
  EXPECT_TRUE(Value::MakeList({Value(1)}).Equals(Value::MakeList({Value(1.0)})));
  EXPECT_TRUE(*LessThan(Value("a"), Value("b")));
  EXPECT_TRUE(*LessThan(Value::MakeList({Value(1), Value(2)}), Value::MakeList({Value(1), Value(3)})));
  EXPECT_FALSE(LessThan(Value("a"), Value(1)).ok());
}

TEST(DictTest, KeepsInsertionOrderAndReplacesInPlace) {
  Dict d;
  d.Set("z", Value(1));
  d.Set("a", Value(2));
  d.Set("z", Value(3));
  ASSERT_EQ(d.items.size(), 2u);
  EXPECT_EQ(d.items[0].first.AsString(), "z");
  EXPECT_EQ(d.items[0].second.AsInt(), 3);
  EXPECT_EQ(d.Find(std::string_view("a"))->AsInt(), 2);
  EXPECT_EQ(d.Find(std::string_view("q")), nullptr);
}

}  // namespace
}  // namespace kvs::jinja
