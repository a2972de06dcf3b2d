#include "loadgen/svg_plot.h"

#include <gtest/gtest.h>

namespace kvs::loadgen {
namespace {

size_t Count(const std::string& s, const std::string& what) {
  size_t n = 0;
  for (size_t p = s.find(what); p != std::string::npos; p = s.find(what, p + 1)) ++n;
  return n;
}

TEST(SvgPlotTest, OnePolylinePerNonEmptySeriesWithAllPoints) {
  Chart c{"t", "x", "y",
          {{"a", "#f00", {{0, 1}, {1, 2}, {2, 3}}, false},
           {"b", "#00f", {{0, 5}, {2, 0}}, true},
           {"empty", "#0f0", {}, false}}};
  const std::string svg = RenderSvg("title <&>", {c, c});
  EXPECT_EQ(Count(svg, "<polyline"), 4u);  // 2 charts x 2 non-empty series
  EXPECT_EQ(Count(svg, "stroke-dasharray"), 2u * 2u);  // polyline + legend of b, twice
  EXPECT_NE(svg.find("title &lt;&amp;&gt;"), std::string::npos);
  // Points: the first series has 3 pairs "x,y ".
  const size_t p = svg.find("points=\"");
  const size_t e = svg.find('"', p + 8);
  EXPECT_EQ(Count(svg.substr(p, e - p), ","), 3u);
  EXPECT_EQ(Count(svg, "<svg"), 1u);
  EXPECT_EQ(Count(svg, "</svg>"), 1u);
}

TEST(SvgPlotTest, EmptyChartSaysNoData) {
  const std::string svg = RenderSvg("x", {Chart{"c", "x", "y", {}}});
  EXPECT_NE(svg.find("no data"), std::string::npos);
}

TEST(SvgPlotTest, HigherValuesAreDrawnHigher) {
  Chart c{"t", "x", "y", {{"a", "#f00", {{0, 0}, {1, 10}}, false}}};
  const std::string svg = RenderSvg("x", {c});
  const size_t p = svg.find("points=\"") + 8;
  float x0, y0, x1, y1;
  ASSERT_EQ(std::sscanf(svg.c_str() + p, "%f,%f %f,%f", &x0, &y0, &x1, &y1), 4);
  EXPECT_LT(x0, x1);
  EXPECT_GT(y0, y1);  // SVG y grows downwards
}

}  // namespace
}  // namespace kvs::loadgen
