#include "loadgen/prometheus_text.h"

#include <cmath>
#include <cstdlib>
#include <string>

namespace kvs::loadgen {
namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

std::optional<double> ParseValue(std::string_view v) {
  if (v == "+Inf") return HUGE_VAL;
  if (v == "-Inf") return -HUGE_VAL;
  if (v == "NaN") return std::nan("");
  std::string s(v);
  char* end = nullptr;
  const double d = std::strtod(s.c_str(), &end);
  if (end == s.c_str() || *end != '\0') return std::nullopt;
  return d;
}

}  // namespace

PrometheusSamples PrometheusSamples::Parse(std::string_view text) {
  PrometheusSamples out;
  while (!text.empty()) {
    const size_t nl = text.find('\n');
    std::string_view line = Trim(text.substr(0, nl));
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    if (line.empty() || line.front() == '#') continue;
    std::string_view name, labels, rest;
    const size_t brace = line.find('{');
    const size_t space = line.find(' ');
    if (brace != std::string_view::npos && brace < space) {
      // Label values may contain '}' only escaped inside quotes; scan quotes.
      size_t i = brace + 1;
      bool in_quotes = false;
      for (; i < line.size(); ++i) {
        if (line[i] == '\\') { ++i; continue; }
        if (line[i] == '"') in_quotes = !in_quotes;
        else if (line[i] == '}' && !in_quotes) break;
      }
      if (i >= line.size()) continue;
      name = line.substr(0, brace);
      labels = line.substr(brace + 1, i - brace - 1);
      rest = Trim(line.substr(i + 1));
    } else {
      if (space == std::string_view::npos) continue;
      name = line.substr(0, space);
      rest = Trim(line.substr(space + 1));
    }
    const size_t vend = rest.find(' ');  // an optional timestamp follows
    std::optional<double> value = ParseValue(rest.substr(0, vend));
    if (!value || name.empty()) continue;
    std::string key(name);
    if (!labels.empty()) key += "{" + std::string(labels) + "}";
    out.series_[key] = *value;
    out.by_name_[std::string(name)] += *value;
  }
  return out;
}

std::optional<double> PrometheusSamples::Get(std::string_view name) const {
  auto it = series_.find(name);
  if (it != series_.end()) return it->second;
  auto jt = by_name_.find(name);
  if (jt != by_name_.end()) return jt->second;
  return std::nullopt;
}

std::optional<double> PrometheusSamples::GetSeries(std::string_view name,
                                                   std::string_view labels) const {
  std::string key = std::string(name) + "{" + std::string(labels) + "}";
  auto it = series_.find(key);
  if (it == series_.end()) return std::nullopt;
  return it->second;
}

}  // namespace kvs::loadgen
