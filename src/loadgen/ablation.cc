#include "loadgen/ablation.h"

#include <cstdio>
#include <sstream>

#include "loadgen/report.h"

namespace kvs::loadgen {
namespace {

using nlohmann::json;

StatusOr<std::vector<std::string>> SplitValues(const std::string& list, const std::string& name) {
  std::vector<std::string> values;
  std::stringstream in(list);
  std::string v;
  while (std::getline(in, v, ',')) {
    if (v.empty() || v.find_first_not_of("0123456789") != std::string::npos) {
      return InvalidArgumentError("--ablate " + name + ": '" + v + "' is not a positive integer");
    }
    values.push_back(v);
  }
  if (values.empty()) return InvalidArgumentError("--ablate " + name + " needs values");
  return values;
}

double Ratio(const json& a, const json& b) {
  if (!a.is_number() || !b.is_number() || b.get<double>() == 0) return 0;
  return a.get<double>() / b.get<double>();
}

const json& Field(const json& j, const char* a, const char* b = nullptr) {
  static const json kNull = nullptr;
  auto it = j.find(a);
  if (it == j.end()) return kNull;
  if (b == nullptr) return *it;
  auto jt = it->find(b);
  return jt == it->end() ? kNull : *jt;
}

}  // namespace

StatusOr<std::vector<AblationVariant>> ParseAblation(const std::string& spec) {
  const size_t eq = spec.find('=');
  const std::string name = spec.substr(0, eq);
  const std::string values = eq == std::string::npos ? "" : spec.substr(eq + 1);
  if (name == "prefix-cache") {
    return std::vector<AblationVariant>{{"prefix-cache on", {}},
                                        {"prefix-cache off", {"--no-prefix-caching"}}};
  }
  if (name == "chunked-prefill") {
    std::string budget = "64";
    if (!values.empty()) {
      KVS_ASSIGN_OR_RETURN(auto v, SplitValues(values, name));
      budget = v.front();
    }
    return std::vector<AblationVariant>{
        {"chunked prefill (budget " + budget + ")", {"--max-batched-tokens", budget}},
        {"no chunked prefill", {"--no-chunked-prefill"}}};
  }
  if (name == "disagg") {
    const std::string transport = values.empty() ? "tcp" : values;
    if (transport != "tcp" && transport != "ucx") {
      return InvalidArgumentError("disagg takes tcp or ucx, not '" + transport + "'");
    }
    AblationVariant split{"disagg: prefill 1 + decode 1 thread (" + transport + ")", {}};
    split.disagg = true;
    split.prefill_args = {"--threads", "1"};
    split.decode_args = {"--threads", "1"};
    split.kv_transport = transport;
    return std::vector<AblationVariant>{{"colocated, 2 threads", {"--threads", "2"}},
                                        {"colocated, 1 thread", {"--threads", "1"}},
                                        split};
  }
  const char* flag = name == "token-budget" ? "--max-batched-tokens"
                     : name == "block-size" ? "--kv-block-size"
                     : name == "kv-budget"  ? "--kv-cache-tokens"
                                            : nullptr;
  if (flag == nullptr) {
    return InvalidArgumentError("unknown ablation '" + name +
                                "' (prefix-cache, chunked-prefill, token-budget, block-size, "
                                "kv-budget, disagg)");
  }
  KVS_ASSIGN_OR_RETURN(auto v, SplitValues(values, name));
  std::vector<AblationVariant> out;
  for (const auto& x : v) out.push_back({std::string(flag) + " " + x, {flag, x}});
  return out;
}

StatusOr<json> RunAblation(const std::string& spec, const BenchConfig& base) {
  if (!base.serve) return InvalidArgumentError("an ablation restarts the server: give -m MODEL");
  KVS_ASSIGN_OR_RETURN(std::vector<AblationVariant> variants, ParseAblation(spec));
  json out = {{"ablation", spec}, {"variants", json::array()}};
  std::vector<std::string> labels;
  std::vector<json> reports;
  for (const auto& v : variants) {
    BenchConfig c = base;
    c.serve->extra_args.insert(c.serve->extra_args.end(), v.server_args.begin(),
                               v.server_args.end());
    c.serve->disagg = v.disagg;
    c.serve->prefill_args = v.prefill_args;
    c.serve->decode_args = v.decode_args;
    c.serve->kv_transport = v.kv_transport;
    std::fprintf(stderr, "loadgen: running variant '%s'\n", v.label.c_str());
    KVS_ASSIGN_OR_RETURN(json report, RunBenchmark(c));
    if (!reports.empty()) {
      const json& first = reports.front();
      report["vs_first"] = {
          {"ttft_p50_ratio", Ratio(Field(report, "ttft_ms", "p50"), Field(first, "ttft_ms", "p50"))},
          {"itl_p99_ratio", Ratio(Field(report, "itl_ms", "p99"), Field(first, "itl_ms", "p99"))},
          {"output_tokens_per_s_ratio",
           Ratio(Field(report, "output_tokens_per_s"), Field(first, "output_tokens_per_s"))}};
    }
    labels.push_back(v.label);
    reports.push_back(report);
    out["variants"].push_back({{"label", v.label}, {"server_args", v.server_args},
                               {"report", report}});
  }
  out["table"] = FormatComparisonTable(labels, reports);
  return out;
}

}  // namespace kvs::loadgen
