#include "server/metrics.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "base/check.h"

namespace kvs::server {
namespace {

// Prometheus floats: integers print without a fraction, +Inf as "+Inf".
std::string FormatValue(double v) {
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  if (std::isnan(v)) return "NaN";
  char buf[64];
  if (v == std::floor(v) && std::fabs(v) < 1e15) {
    std::snprintf(buf, sizeof(buf), "%.0f", v);
  } else {
    std::snprintf(buf, sizeof(buf), "%.9g", v);
  }
  return buf;
}

std::string EscapeLabel(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string FormatLabels(const Labels& labels) {
  if (labels.empty()) return "";
  std::string out = "{";
  for (size_t i = 0; i < labels.size(); ++i) {
    if (i) out += ',';
    out += labels[i].first + "=\"" + EscapeLabel(labels[i].second) + "\"";
  }
  return out + "}";
}

}  // namespace

void Counter::Inc(double v) {
  double cur = value_.load(std::memory_order_relaxed);
  while (!value_.compare_exchange_weak(cur, cur + v, std::memory_order_relaxed)) {
  }
}

void Counter::Set(double v) { value_.store(v, std::memory_order_relaxed); }

Histogram::Histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)), counts_(bounds_.size() + 1, 0) {
  for (size_t i = 1; i < bounds_.size(); ++i) {
    KVS_CHECK(bounds_[i - 1] < bounds_[i]) << "histogram bounds must increase";
  }
}

void Histogram::Observe(double v, int64_t n) {
  // First bucket whose upper bound is >= v (Prometheus buckets are le).
  size_t b = std::lower_bound(bounds_.begin(), bounds_.end(), v) - bounds_.begin();
  std::lock_guard<std::mutex> lock(mu_);
  counts_[b] += n;
  sum_ += v * static_cast<double>(n);
  count_ += n;
}

Histogram::Snapshot Histogram::Read() const {
  Snapshot s;
  s.bounds = bounds_;
  std::lock_guard<std::mutex> lock(mu_);
  int64_t acc = 0;
  for (int64_t c : counts_) {
    acc += c;
    s.cumulative.push_back(acc);
  }
  s.sum = sum_;
  s.count = count_;
  return s;
}

struct MetricsRegistry::Family {
  std::string name, help, type;
  std::vector<std::pair<Labels, std::unique_ptr<Counter>>> counters;
  std::vector<std::pair<Labels, std::unique_ptr<Gauge>>> gauges;
  std::vector<std::pair<Labels, std::unique_ptr<Histogram>>> histograms;
};

MetricsRegistry::MetricsRegistry() = default;
MetricsRegistry::~MetricsRegistry() = default;

MetricsRegistry::Family* MetricsRegistry::FindOrAddFamily(const std::string& name,
                                                          const std::string& help,
                                                          const char* type) {
  for (auto& f : families_) {
    if (f->name == name) {
      KVS_CHECK(f->type == type) << "metric " << name << " re-added as " << type;
      return f.get();
    }
  }
  families_.push_back(std::make_unique<Family>());
  Family* f = families_.back().get();
  f->name = name;
  f->help = help;
  f->type = type;
  return f;
}

Counter* MetricsRegistry::AddCounter(const std::string& name, const std::string& help,
                                     const Labels& labels) {
  std::lock_guard<std::mutex> lock(mu_);
  Family* f = FindOrAddFamily(name, help, "counter");
  for (auto& [l, c] : f->counters) {
    if (l == labels) return c.get();
  }
  f->counters.emplace_back(labels, std::make_unique<Counter>());
  return f->counters.back().second.get();
}

Gauge* MetricsRegistry::AddGauge(const std::string& name, const std::string& help,
                                 const Labels& labels) {
  std::lock_guard<std::mutex> lock(mu_);
  Family* f = FindOrAddFamily(name, help, "gauge");
  for (auto& [l, g] : f->gauges) {
    if (l == labels) return g.get();
  }
  f->gauges.emplace_back(labels, std::make_unique<Gauge>());
  return f->gauges.back().second.get();
}

Histogram* MetricsRegistry::AddHistogram(const std::string& name, const std::string& help,
                                         std::vector<double> bounds, const Labels& labels) {
  std::lock_guard<std::mutex> lock(mu_);
  Family* f = FindOrAddFamily(name, help, "histogram");
  for (auto& [l, h] : f->histograms) {
    if (l == labels) return h.get();
  }
  f->histograms.emplace_back(labels, std::make_unique<Histogram>(std::move(bounds)));
  return f->histograms.back().second.get();
}

std::string MetricsRegistry::Render() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::string out;
  for (const auto& f : families_) {
    out += "# HELP " + f->name + " " + f->help + "\n";
    out += "# TYPE " + f->name + " " + f->type + "\n";
    for (const auto& [labels, c] : f->counters) {
      out += f->name + FormatLabels(labels) + " " + FormatValue(c->value()) + "\n";
    }
    for (const auto& [labels, g] : f->gauges) {
      out += f->name + FormatLabels(labels) + " " + FormatValue(g->value()) + "\n";
    }
    for (const auto& [labels, h] : f->histograms) {
      Histogram::Snapshot s = h->Read();
      const std::string series = FormatLabels(labels);
      for (size_t i = 0; i <= s.bounds.size(); ++i) {
        Labels with_le = labels;
        with_le.emplace_back("le", i < s.bounds.size() ? FormatValue(s.bounds[i]) : "+Inf");
        out += f->name + "_bucket" + FormatLabels(with_le) + " " + std::to_string(s.cumulative[i]) +
               "\n";
      }
      out += f->name + "_sum" + series + " " + FormatValue(s.sum) + "\n";
      out += f->name + "_count" + series + " " + std::to_string(s.count) + "\n";
    }
  }
  return out;
}

std::vector<double> LatencyBuckets() {
  return {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,  0.25,
          0.5,   1.0,    2.5,   5.0,  10.0,  20.0, 40.0, 60.0};
}

}  // namespace kvs::server
