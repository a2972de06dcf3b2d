#include "jinja/py_string.h"

#include <gtest/gtest.h>

namespace kvs::jinja {
namespace {

using Strings = std::vector<std::string>;

TEST(PyStringTest, StripLikeStr) {
  EXPECT_EQ(PyStrip("  a b \n", std::nullopt, true, true), "a b");
  EXPECT_EQ(PyStrip("\u00a0x\u3000", std::nullopt, true, true), "x");  // Unicode whitespace too
  EXPECT_EQ(PyStrip("xxaxx", std::string("x"), true, false), "axx");
  EXPECT_EQ(PyStrip("ééaé", std::string("é"), true, true), "a");
}

TEST(PyStringTest, SplitLikeStr) {
  EXPECT_EQ(PySplit("a,b,,c", std::string(","), -1), (Strings{"a", "b", "", "c"}));
  EXPECT_EQ(PySplit("a,b,c", std::string(","), 1), (Strings{"a", "b,c"}));
  EXPECT_EQ(PySplit("  a \t b  ", std::nullopt, -1), (Strings{"a", "b"}));
  EXPECT_EQ(PySplit(" a b  c ", std::nullopt, 1), (Strings{"a", "b  c "}));
  EXPECT_EQ(PySplit("", std::nullopt, -1), Strings{});
}

TEST(PyStringTest, ReplaceAndCase) {
  EXPECT_EQ(PyReplace("aaa", "a", "b", 2), "bba");
  EXPECT_EQ(PyReplace("ab", "", "-", -1), "-a-b-");
  EXPECT_EQ(PyUpper("straße é"), "STRASSE É");
  EXPECT_EQ(PyLower("ÉTÉ ΩMEGA"), "été ωmega");
  EXPECT_EQ(PyTitle("hello wORLD x2y"), "Hello World X2Y");
  EXPECT_EQ(PyCapitalize("hELLO"), "Hello");
}

TEST(PyStringTest, CodePoints) {
  EXPECT_EQ(CodePointCount("héllo"), 5u);
  EXPECT_EQ(CodePointOffsets("aé"), (std::vector<size_t>{0, 1, 3}));
}

}  // namespace
}  // namespace kvs::jinja
