#include "loadgen/svg_plot.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace kvs::loadgen {
namespace {

constexpr double kWidth = 900;
constexpr double kChartHeight = 300;
constexpr double kTitleHeight = 40;
constexpr double kLeft = 70, kRight = 170, kTop = 30, kBottom = 45;

std::string Fmt(double v) {
  char buf[32];
  if (std::fabs(v) >= 100 || v == std::floor(v)) {
    std::snprintf(buf, sizeof(buf), "%.0f", v);
  } else {
    std::snprintf(buf, sizeof(buf), "%.2g", v);
  }
  return buf;
}

std::string Coord(double v) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.1f", v);
  return buf;
}

// A "nice" tick step (1, 2 or 5 times a power of ten) for about 5 ticks.
double TickStep(double range) {
  if (range <= 0) return 1;
  const double raw = range / 5;
  const double mag = std::pow(10, std::floor(std::log10(raw)));
  for (double m : {1.0, 2.0, 5.0, 10.0}) {
    if (raw <= m * mag) return m * mag;
  }
  return 10 * mag;
}

std::string RenderChart(const Chart& c, double y0) {
  std::string out;
  const double pw = kWidth - kLeft - kRight, ph = kChartHeight - kTop - kBottom;
  double xmin = 1e300, xmax = -1e300, ymax = 0;
  for (const auto& s : c.series) {
    for (const auto& [x, y] : s.points) {
      if (!std::isfinite(x) || !std::isfinite(y)) continue;
      xmin = std::min(xmin, x);
      xmax = std::max(xmax, x);
      ymax = std::max(ymax, y);
    }
  }
  const bool empty = xmin > xmax;
  if (empty) xmin = 0, xmax = 1;
  if (xmax <= xmin) xmax = xmin + 1;
  if (ymax <= 0) ymax = 1;
  const double ystep = TickStep(ymax);
  ymax = std::ceil(ymax / ystep) * ystep;
  auto px = [&](double x) { return kLeft + (x - xmin) / (xmax - xmin) * pw; };
  auto py = [&](double y) { return y0 + kTop + ph - y / ymax * ph; };

  out += "<text x=\"" + Coord(kLeft) + "\" y=\"" + Coord(y0 + 18) +
         "\" font-size=\"14\" font-weight=\"bold\">" + SvgEscape(c.title) + "</text>\n";
  out += "<rect x=\"" + Coord(kLeft) + "\" y=\"" + Coord(y0 + kTop) + "\" width=\"" + Coord(pw) +
         "\" height=\"" + Coord(ph) + "\" fill=\"none\" stroke=\"#888\"/>\n";
  for (double y = 0; y <= ymax + 1e-9; y += ystep) {
    out += "<line x1=\"" + Coord(kLeft) + "\" x2=\"" + Coord(kLeft + pw) + "\" y1=\"" +
           Coord(py(y)) + "\" y2=\"" + Coord(py(y)) + "\" stroke=\"#eee\"/>\n";
    out += "<text x=\"" + Coord(kLeft - 6) + "\" y=\"" + Coord(py(y) + 4) +
           "\" font-size=\"11\" text-anchor=\"end\">" + Fmt(y) + "</text>\n";
  }
  const double xstep = TickStep(xmax - xmin);
  for (double x = std::ceil(xmin / xstep) * xstep; x <= xmax + 1e-9; x += xstep) {
    out += "<text x=\"" + Coord(px(x)) + "\" y=\"" + Coord(y0 + kTop + ph + 15) +
           "\" font-size=\"11\" text-anchor=\"middle\">" + Fmt(x) + "</text>\n";
  }
  out += "<text x=\"" + Coord(kLeft + pw / 2) + "\" y=\"" + Coord(y0 + kChartHeight - 8) +
         "\" font-size=\"12\" text-anchor=\"middle\">" + SvgEscape(c.x_label) + "</text>\n";
  out += "<text x=\"15\" y=\"" + Coord(y0 + kTop + ph / 2) +
         "\" font-size=\"12\" text-anchor=\"middle\" transform=\"rotate(-90 15 " +
         Coord(y0 + kTop + ph / 2) + ")\">" + SvgEscape(c.y_label) + "</text>\n";
  if (empty) {
    out += "<text x=\"" + Coord(kLeft + pw / 2) + "\" y=\"" + Coord(y0 + kTop + ph / 2) +
           "\" font-size=\"14\" text-anchor=\"middle\" fill=\"#888\">no data</text>\n";
  }
  double legend_y = y0 + kTop + 10;
  for (const auto& s : c.series) {
    std::string pts;
    for (const auto& [x, y] : s.points) {
      if (!std::isfinite(x) || !std::isfinite(y)) continue;
      pts += Coord(px(x)) + "," + Coord(py(y)) + " ";
    }
    if (!pts.empty()) {
      out += "<polyline fill=\"none\" stroke=\"" + SvgEscape(s.color) +
             "\" stroke-width=\"1.5\"" + (s.dashed ? " stroke-dasharray=\"5,4\"" : "") +
             " points=\"" + pts + "\"/>\n";
    }
    out += "<line x1=\"" + Coord(kLeft + pw + 10) + "\" x2=\"" + Coord(kLeft + pw + 30) +
           "\" y1=\"" + Coord(legend_y) + "\" y2=\"" + Coord(legend_y) + "\" stroke=\"" +
           SvgEscape(s.color) + "\" stroke-width=\"2\"" +
           (s.dashed ? " stroke-dasharray=\"5,4\"" : "") + "/>\n";
    out += "<text x=\"" + Coord(kLeft + pw + 35) + "\" y=\"" + Coord(legend_y + 4) +
           "\" font-size=\"11\">" + SvgEscape(s.name) + "</text>\n";
    legend_y += 16;
  }
  return out;
}

}  // namespace

std::string SvgEscape(const std::string& s) {
  std::string out;
  for (char ch : s) {
    switch (ch) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      default: out += ch;
    }
  }
  return out;
}

std::string RenderSvg(const std::string& title, const std::vector<Chart>& charts) {
  const double height = kTitleHeight + kChartHeight * static_cast<double>(charts.size());
  std::string out = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + Coord(kWidth) +
                    "\" height=\"" + Coord(height) + "\" font-family=\"sans-serif\">\n";
  out += "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  out += "<text x=\"" + Coord(kWidth / 2) +
         "\" y=\"25\" font-size=\"16\" text-anchor=\"middle\" font-weight=\"bold\">" +
         SvgEscape(title) + "</text>\n";
  for (size_t i = 0; i < charts.size(); ++i) {
    out += RenderChart(charts[i], kTitleHeight + kChartHeight * static_cast<double>(i));
  }
  out += "</svg>\n";
  return out;
}

}  // namespace kvs::loadgen
