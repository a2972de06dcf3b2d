// kvserve loadgen: drives a running server (--url) or one it starts itself
// (-m MODEL) with a named scenario, open loop (--rate) or closed loop
// (--concurrency), and reports latency, throughput, goodput, prefix-cache,
// KV and memory figures; --ablate compares server configurations.
#include <CLI/CLI.hpp>
#include <unistd.h>

#include <climits>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "loadgen/ablation.h"
#include "loadgen/bench_run.h"
#include "loadgen/report.h"
#include "loadgen/report_plot.h"
#include "loadgen/scenario.h"
#include "tools/commands.h"

namespace kvs::tools {
namespace {

std::string SelfPath() {
  char buf[PATH_MAX];
  const ssize_t n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);
  return n > 0 ? std::string(buf, static_cast<size_t>(n)) : "kvserve";
}

std::vector<std::string> SplitWords(const std::string& s) {
  std::vector<std::string> words;
  std::istringstream in(s);
  std::string w;
  while (in >> w) words.push_back(w);
  return words;
}

bool WriteFile(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
  return static_cast<bool>(out);
}

// "report.svg" -> "report-2.svg" for the i-th ablation variant.
std::string Numbered(const std::string& path, size_t i) {
  const size_t dot = path.rfind('.');
  const std::string n = "-" + std::to_string(i);
  return dot == std::string::npos ? path + n : path.substr(0, dot) + n + path.substr(dot);
}

}  // namespace

int RunLoadgen(int argc, char** argv) {
  CLI::App app{"kvserve loadgen: serving load generator and scenarios"};
  loadgen::BenchConfig c;
  std::string model, tokenizer, serve_args, out_path, plot_path, ablate;
  std::string kvserve_binary = SelfPath();
  std::string server_log = "/tmp/kvserve-loadgen-server.log";
  std::vector<std::string> tenant_keys;
  double request_timeout_s = 120;
  bool no_ignore_eos = false;
  int64_t seed = 1;
  c.scenario.max_model_len = 0;
  c.scenario.chars_per_token = 0;
  c.load.concurrency = 0;

  std::string names;
  for (const auto& n : loadgen::ScenarioNames()) names += (names.empty() ? "" : ", ") + n;
  app.add_option("--url", c.url, "server base URL, e.g. http://127.0.0.1:8080");
  app.add_option("-m,--model", model, "start `kvserve serve -m MODEL` on a free loopback port");
  app.add_option("--tokenizer", tokenizer, "tokenizer for the started server");
  app.add_option("--serve-args", serve_args, "extra flags for the started server, one string");
  app.add_option("--kvserve", kvserve_binary, "kvserve binary used to start the server");
  app.add_option("--server-log", server_log, "where the started server's output goes");
  app.add_option("--scenario", c.scenario.name, names)->required();
  app.add_option("--requests", c.load.max_requests, "stop after this many requests")
      ->check(CLI::PositiveNumber);
  app.add_option("--duration", c.load.duration_s, "stop starting requests after S seconds")
      ->check(CLI::PositiveNumber);
  auto* rate = app.add_option("--rate", c.load.rate, "open loop: Poisson arrivals per second");
  app.add_option("--concurrency", c.load.concurrency, "closed loop: concurrent users")
      ->excludes(rate);
  app.add_option("--seed", seed, "scenario and arrival seed");
  app.add_option("--out", out_path, "write the JSON report here");
  app.add_option("--plot", plot_path, "write an SVG of latency percentiles and KV usage here");
  app.add_option("--slo-ttft-ms", c.slo_ttft_ms, "goodput SLO on time to first token (0: none)");
  app.add_option("--slo-tpot-ms", c.slo_tpot_ms, "goodput SLO on time per output token (0: none)");
  app.add_option("--system-prompt-tokens", c.scenario.system_prompt_tokens);
  app.add_option("--prompt-tokens", c.scenario.prompt_tokens, "user turn (median for mixed-lengths)");
  app.add_option("--max-tokens", c.scenario.max_tokens, "output tokens (median for mixed-lengths)");
  app.add_option("--turns", c.scenario.turns, "multi-turn: turns per conversation");
  app.add_option("--tenants", c.scenario.tenants, "multi-tenant: number of tenants");
  app.add_option("--tenant-key", tenant_keys, "multi-tenant: API key of tenant i (repeat)");
  app.add_option("--max-model-len", c.scenario.max_model_len, "override /v1/models");
  app.add_option("--chars-per-token", c.scenario.chars_per_token, "override the calibration");
  app.add_option("--server-pid", c.server_pid, "sample this local server process's RSS");
  app.add_option("--api-key", c.api_key, "default API key");
  app.add_option("--metrics-period", c.metrics_period_s, "seconds between /metrics samples")
      ->check(CLI::PositiveNumber);
  app.add_option("--request-timeout", request_timeout_s, "seconds before a request is abandoned")
      ->check(CLI::PositiveNumber);
  app.add_option("--max-in-flight", c.load.max_in_flight, "open loop: cap on concurrent sessions");
  app.add_option("--kv-block-size", c.kv_block_size, "for kv_efficiency if the server omits it");
  app.add_flag("--no-ignore-eos", no_ignore_eos, "let the model stop at end of sequence");
  app.add_option("--ablate", ablate,
                 "compare server configs (needs -m): prefix-cache, chunked-prefill[=B], "
                 "token-budget=A,B, block-size=A,B, kv-budget=TOKENS,TOKENS");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  if (c.url.empty() == model.empty()) {
    std::fprintf(stderr, "kvserve loadgen: give exactly one of --url and -m\n");
    return 2;
  }
  if (c.load.rate <= 0 && c.load.concurrency <= 0) c.load.concurrency = 4;
  c.scenario.seed = static_cast<uint64_t>(seed);
  c.scenario.api_keys = tenant_keys;
  c.load.seed = static_cast<uint64_t>(seed);
  c.load.stream.timeout_s = request_timeout_s;
  c.load.stream.ignore_eos = !no_ignore_eos;
  if (!model.empty()) {
    loadgen::ServeConfig s;
    s.binary = kvserve_binary;
    s.model = model;
    s.tokenizer = tokenizer;
    s.extra_args = SplitWords(serve_args);
    s.log_path = server_log;
    if (c.scenario.name == "multi-tenant") {
      const int n = c.scenario.tenants > 0 ? c.scenario.tenants : 4;
      for (int i = 0; i < n; ++i) {
        s.api_keys.push_back(i < static_cast<int>(tenant_keys.size())
                                 ? tenant_keys[i]
                                 : "sk-tenant-" + std::to_string(i));
      }
    } else if (!c.api_key.empty()) {
      s.api_keys.push_back(c.api_key);
    }
    c.serve = s;
  }

  if (!ablate.empty()) {
    auto result = loadgen::RunAblation(ablate, c);
    if (!result.ok()) {
      std::fprintf(stderr, "kvserve loadgen: %s\n", result.status().ToString().c_str());
      return 1;
    }
    for (const auto& v : (*result)["variants"]) {
      std::printf("== %s\n%s\n", v["label"].get<std::string>().c_str(),
                  loadgen::FormatReportTable(v["report"]).c_str());
    }
    std::printf("%s", (*result)["table"].get<std::string>().c_str());
    if (!out_path.empty() && !WriteFile(out_path, result->dump(2) + "\n")) {
      std::fprintf(stderr, "kvserve loadgen: cannot write %s\n", out_path.c_str());
      return 1;
    }
    if (!plot_path.empty()) {
      for (size_t i = 0; i < (*result)["variants"].size(); ++i) {
        WriteFile(Numbered(plot_path, i),
                  loadgen::PlotReport((*result)["variants"][i]["report"]));
      }
    }
    return 0;
  }

  auto report = loadgen::RunBenchmark(c);
  if (!report.ok()) {
    std::fprintf(stderr, "kvserve loadgen: %s\n", report.status().ToString().c_str());
    return 1;
  }
  std::printf("%s", loadgen::FormatReportTable(*report).c_str());
  if (!out_path.empty() && !WriteFile(out_path, report->dump(2) + "\n")) {
    std::fprintf(stderr, "kvserve loadgen: cannot write %s\n", out_path.c_str());
    return 1;
  }
  if (!plot_path.empty() && !WriteFile(plot_path, loadgen::PlotReport(*report))) {
    std::fprintf(stderr, "kvserve loadgen: cannot write %s\n", plot_path.c_str());
    return 1;
  }
  // A run where every request failed is a failed run, for scripts and CI.
  return (*report)["requests_ok"].get<int64_t>() > 0 ? 0 : 1;
}

}  // namespace kvs::tools
