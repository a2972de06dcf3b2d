// A minimal SVG line-chart writer: charts stacked vertically in one image
// that a browser opens, with axes, ticks, a legend and one polyline per
// series. No dependencies: the load generator must plot on a bare machine.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace kvs::loadgen {

struct PlotSeries {
  std::string name;
  std::string color;  // any SVG color, e.g. "#1f77b4"
  std::vector<std::pair<double, double>> points;  // (x, y), x increasing
  bool dashed = false;
};

struct Chart {
  std::string title;
  std::string x_label;
  std::string y_label;
  std::vector<PlotSeries> series;
};

// Charts with no points are drawn as empty axes with "no data".
std::string RenderSvg(const std::string& title, const std::vector<Chart>& charts);

// Escapes &, <, >, " for SVG text.
std::string SvgEscape(const std::string& s);

}  // namespace kvs::loadgen
