// Parser of the Prometheus text exposition format (0.0.4), enough to read
// the gauges and counters that kvserve serve exports on GET /metrics.
//
// Why our own: the load generator needs a handful of numbers from one
// well-formed producer; a full client library would be a large dependency.
// Comments (# HELP, # TYPE) are skipped; timestamps after the value are
// ignored; label values keep their escapes.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace kvs::loadgen {

class PrometheusSamples {
 public:
  // Lines that do not parse are skipped (a scrape is best effort).
  static PrometheusSamples Parse(std::string_view text);

  // Value of the series with exactly this name and no labels, or of the sum
  // over all label sets of that metric name when it has labels.
  std::optional<double> Get(std::string_view name) const;
  // Value of one labelled series, e.g. Get("m", "tenant=\"a\"").
  std::optional<double> GetSeries(std::string_view name, std::string_view labels) const;

  size_t size() const { return series_.size(); }

 private:
  // key: name + "{" + labels + "}" or bare name.
  std::map<std::string, double, std::less<>> series_;
  std::map<std::string, double, std::less<>> by_name_;  // summed over labels
};

}  // namespace kvs::loadgen
