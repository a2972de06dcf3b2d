#include "loadgen/bench_run.h"

#include <cstdio>
#include <fstream>
#include <memory>
#include <sstream>

#include "loadgen/endpoint.h"
#include "loadgen/metrics_sampler.h"
#include "loadgen/report.h"
#include "loadgen/server_info.h"
#include "loadgen/server_process.h"
#include "loadgen/story_text.h"
#include "loadgen/stream_client.h"

namespace kvs::loadgen {
namespace {

// Value of `--flag V` in args, or `fallback`.
int IntFlag(const std::vector<std::string>& args, const std::string& flag, int fallback) {
  for (size_t i = 0; i + 1 < args.size(); ++i) {
    if (args[i] == flag) return std::atoi(args[i + 1].c_str());
  }
  return fallback;
}

}  // namespace

StatusOr<nlohmann::json> RunBenchmark(const BenchConfig& config) {
  std::unique_ptr<Deployment> deployment;
  Endpoint endpoint;
  int pid = config.server_pid;
  int block_size = config.kv_block_size;
  if (config.serve) {
    KVS_ASSIGN_OR_RETURN(deployment, Deployment::Start(*config.serve, config.api_key));
    pid = deployment->pid();
    block_size = IntFlag(config.serve->extra_args, "--kv-block-size", block_size);
    endpoint = deployment->endpoint();
  } else {
    KVS_ASSIGN_OR_RETURN(endpoint, ParseEndpoint(config.url));
    endpoint.api_key = config.api_key;
  }

  KVS_ASSIGN_OR_RETURN(ModelInfo info, FetchModelInfo(endpoint));
  ScenarioOptions so = config.scenario;
  if (so.max_model_len <= 0) so.max_model_len = info.max_model_len > 0 ? info.max_model_len : 2048;
  if (so.chars_per_token <= 0) {
    StoryText sample(MixSeed(so.seed, 0xca1));
    KVS_ASSIGN_OR_RETURN(so.chars_per_token,
                         CalibrateCharsPerToken(endpoint, info.id, sample.Paragraph(1500)));
  }
  KVS_ASSIGN_OR_RETURN(std::unique_ptr<Scenario> scenario, MakeScenario(so));

  LoadOptions lo = config.load;
  lo.stream.model = info.id;
  LoadRunner runner(scenario.get(), lo, [&](const RequestSpec& spec, double start) {
    return SendStreaming(endpoint, spec, lo.stream, start);
  });
  const double run_start = NowSeconds();
  MetricsSampler sampler(endpoint, config.metrics_period_s, pid, run_start);
  sampler.Start();
  StatusOr<RunResult> run = runner.Run(run_start);
  sampler.Stop();
  if (!run.ok()) return run.status();

  ReportContext ctx;
  ctx.scenario = so.name;
  ctx.mode = lo.rate > 0 ? "open" : "closed";
  ctx.rate = lo.rate;
  ctx.concurrency = lo.rate > 0 ? 0 : lo.concurrency;
  ctx.seed = so.seed;
  ctx.model = info.id;
  ctx.max_model_len = so.max_model_len;
  ctx.chars_per_token = so.chars_per_token;
  ctx.lengths = scenario->lengths();
  ctx.slo_ttft_ms = config.slo_ttft_ms;
  ctx.slo_tpot_ms = config.slo_tpot_ms;
  ctx.kv_block_size = block_size;
  nlohmann::json report = BuildReport(*run, sampler.samples(), ctx);
  report["url"] = endpoint.Url();
  if (deployment) {
    report.update(deployment->Finish());
    report["server_args"] = config.serve->extra_args;
  }
  return report;
}

}  // namespace kvs::loadgen
