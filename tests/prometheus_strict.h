// Test-only: a strict parser of the Prometheus text exposition format
// (version 0.0.4), written from the format's specification and independent
// of src/server/metrics.cc (the renderer) and src/loadgen/prometheus_text.cc.
// It rejects what a Prometheus server would reject and more: a sample before
// its family's TYPE, a TYPE given twice, a sample name that does not belong
// to its family's type (a counter's samples are the family name itself; a
// histogram's are _bucket, _sum and _count), bad metric or label names, bad
// escapes, unparsable values, duplicate series, and histograms whose buckets
// are not cumulative or whose +Inf bucket differs from _count.
#pragma once

#include <cmath>
#include <cstdlib>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace kvs::testing {

struct PromSample {
  std::string name;
  std::map<std::string, std::string> labels;
  double value = 0;
};

struct PromFamily {
  std::string type;  // counter, gauge, histogram, summary, untyped
  std::string help;
  std::vector<PromSample> samples;
};

struct PromParse {
  std::string error;  // empty: the text is valid
  std::map<std::string, PromFamily> families;

  // The value of the one sample of family `name` whose labels include
  // `match`; NaN when there is not exactly one.
  double Value(const std::string& family, const std::string& sample,
               const std::map<std::string, std::string>& match = {}) const {
    auto it = families.find(family);
    if (it == families.end()) return NAN;
    double v = NAN;
    int n = 0;
    for (const PromSample& s : it->second.samples) {
      if (s.name != sample) continue;
      bool ok = true;
      for (const auto& [k, want] : match) {
        auto l = s.labels.find(k);
        ok = ok && l != s.labels.end() && l->second == want;
      }
      if (ok) v = s.value, ++n;
    }
    return n == 1 ? v : NAN;
  }
};

inline bool PromIsMetricName(const std::string& s) {
  if (s.empty()) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
    if (!(alpha || (i > 0 && c >= '0' && c <= '9'))) return false;
  }
  return true;
}

inline bool PromIsLabelName(const std::string& s) {
  if (s.empty() || s.find(':') != std::string::npos) return false;
  return PromIsMetricName(s);
}

inline bool PromParseValue(const std::string& s, double* out) {
  if (s == "+Inf" || s == "Inf") return *out = INFINITY, true;
  if (s == "-Inf") return *out = -INFINITY, true;
  if (s == "NaN") return *out = NAN, true;
  if (s.empty()) return false;
  char* end = nullptr;
  *out = std::strtod(s.c_str(), &end);
  return end == s.c_str() + s.size();
}

inline PromParse ParsePrometheusStrict(const std::string& text) {
  PromParse r;
  std::map<std::string, std::string> sample_family;  // sample name -> family
  std::map<std::string, bool> seen_series;
  size_t pos = 0;
  int line_no = 0;
  auto fail = [&](const std::string& what) {
    r.error = "line " + std::to_string(line_no) + ": " + what;
    return r;
  };
  if (!text.empty() && text.back() != '\n') return fail("text does not end with a newline");
  while (pos < text.size()) {
    const size_t eol = text.find('\n', pos);
    const std::string line = text.substr(pos, eol - pos);
    pos = eol + 1;
    ++line_no;
    if (line.empty()) continue;
    if (line[0] == '#') {
      // "# HELP name text" / "# TYPE name type"; other comments are allowed.
      if (line.rfind("# HELP ", 0) == 0 || line.rfind("# TYPE ", 0) == 0) {
        const bool is_type = line[2] == 'T';
        const size_t sp = line.find(' ', 7);
        const std::string name =
            line.substr(7, sp == std::string::npos ? std::string::npos : sp - 7);
        const std::string rest = sp == std::string::npos ? "" : line.substr(sp + 1);
        if (!PromIsMetricName(name)) return fail("bad metric name '" + name + "'");
        PromFamily& f = r.families[name];
        if (is_type) {
          if (!f.type.empty()) return fail("second TYPE for " + name);
          if (!f.samples.empty()) return fail("TYPE after samples of " + name);
          if (rest != "counter" && rest != "gauge" && rest != "histogram" && rest != "summary" &&
              rest != "untyped") {
            return fail("bad type '" + rest + "'");
          }
          f.type = rest;
          std::vector<std::string> names = {name};
          if (rest == "histogram") names = {name + "_bucket", name + "_sum", name + "_count"};
          for (const std::string& n : names) {
            if (sample_family.count(n)) return fail("sample name " + n + " claimed twice");
            sample_family[n] = name;
          }
        } else {
          f.help = rest;
        }
      }
      continue;
    }
    // name{l="v",...} value [timestamp]
    size_t i = 0;
    while (i < line.size() && line[i] != '{' && line[i] != ' ') ++i;
    PromSample s;
    s.name = line.substr(0, i);
    if (!PromIsMetricName(s.name)) return fail("bad sample name '" + s.name + "'");
    if (i < line.size() && line[i] == '{') {
      ++i;
      while (i < line.size() && line[i] != '}') {
        size_t eq = line.find('=', i);
        if (eq == std::string::npos) return fail("label without '='");
        const std::string lname = line.substr(i, eq - i);
        if (!PromIsLabelName(lname)) return fail("bad label name '" + lname + "'");
        if (eq + 1 >= line.size() || line[eq + 1] != '"') return fail("unquoted label value");
        std::string value;
        size_t j = eq + 2;
        for (; j < line.size() && line[j] != '"'; ++j) {
          if (line[j] == '\\') {
            if (++j >= line.size()) return fail("dangling escape");
            if (line[j] == 'n') {
              value += '\n';
            } else if (line[j] == '\\' || line[j] == '"') {
              value += line[j];
            } else {
              return fail("bad escape");
            }
          } else {
            value += line[j];
          }
        }
        if (j >= line.size()) return fail("unterminated label value");
        if (!s.labels.emplace(lname, value).second) return fail("label " + lname + " twice");
        i = j + 1;
        if (i < line.size() && line[i] == ',') ++i;
      }
      if (i >= line.size()) return fail("unterminated label set");
      ++i;  // '}'
    }
    if (i >= line.size() || line[i] != ' ') return fail("no value");
    std::string rest = line.substr(i + 1);
    const size_t sp = rest.find(' ');
    const std::string value = rest.substr(0, sp);
    if (!PromParseValue(value, &s.value)) return fail("bad value '" + value + "'");
    auto fam = sample_family.find(s.name);
    if (fam == sample_family.end()) return fail("sample " + s.name + " before its TYPE");
    std::string key = s.name;
    for (const auto& [k, v] : s.labels) key += "|" + k + "=" + v;
    if (seen_series[key]) return fail("duplicate series " + key);
    seen_series[key] = true;
    PromFamily& f = r.families[fam->second];
    if (f.type == "counter" && (s.value < 0 || std::isnan(s.value))) {
      return fail("counter " + s.name + " negative or NaN");
    }
    f.samples.push_back(std::move(s));
  }
  // Histograms: cumulative buckets, +Inf bucket == _count, per label set.
  for (const auto& [name, f] : r.families) {
    if (f.type != "histogram") continue;
    std::map<std::string, std::vector<std::pair<double, double>>> buckets;
    std::map<std::string, double> counts;
    for (const PromSample& s : f.samples) {
      std::string series;
      for (const auto& [k, v] : s.labels) {
        if (k != "le") series += k + "=" + v + ",";
      }
      if (s.name == name + "_bucket") {
        auto le = s.labels.find("le");
        double bound;
        if (le == s.labels.end() || !PromParseValue(le->second, &bound)) {
          r.error = name + ": bucket without a valid le";
          return r;
        }
        buckets[series].emplace_back(bound, s.value);
      } else if (s.name == name + "_count") {
        counts[series] = s.value;
      }
    }
    for (const auto& [series, b] : buckets) {
      for (size_t k = 1; k < b.size(); ++k) {
        if (!(b[k].first > b[k - 1].first) || b[k].second < b[k - 1].second) {
          r.error = name + ": buckets not increasing / not cumulative";
          return r;
        }
      }
      if (b.empty() || !std::isinf(b.back().first) || !counts.count(series) ||
          b.back().second != counts[series]) {
        r.error = name + ": +Inf bucket missing or != _count";
        return r;
      }
    }
  }
  return r;
}

}  // namespace kvs::testing
