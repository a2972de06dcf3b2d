#include "loadgen/metrics_sampler.h"

#include <chrono>
#include <fstream>
#include <string>

#include "loadgen/prometheus_text.h"
#include "loadgen/server_info.h"
#include "loadgen/stream_client.h"

namespace kvs::loadgen {

double ReadRssMb(int pid) {
  if (pid <= 0) return -1;
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) {
      const double kib = std::strtod(line.c_str() + 6, nullptr);  // "VmRSS:   1234 kB"
      return kib / 1024.0;
    }
  }
  return -1;
}

MetricsSample SampleFromMetrics(const PrometheusSamples& m) {
  MetricsSample s;
  s.ok = true;
  auto get = [&](const char* name) { return m.Get(name).value_or(-1); };
  s.kv_blocks_used = get("kvserve_kv_blocks_used");
  s.kv_blocks_total = get("kvserve_kv_blocks_total");
  s.kv_tokens_used = get("kvserve_kv_tokens_used");
  s.kv_block_size = get("kvserve_kv_block_size");
  s.requests_running = get("kvserve_requests_running");
  s.requests_waiting = get("kvserve_requests_waiting");
  s.preemptions_total = get("kvserve_preemptions_total");
  s.prefix_queried_tokens_total = get("kvserve_prefix_cache_queried_tokens_total");
  s.prefix_hit_tokens_total = get("kvserve_prefix_cache_hit_tokens_total");
  return s;
}

MetricsSampler::MetricsSampler(Endpoint endpoint, double period_s, int server_pid,
                               double run_start_s)
    : endpoint_(std::move(endpoint)),
      period_s_(period_s),
      server_pid_(server_pid),
      run_start_s_(run_start_s) {}

MetricsSampler::~MetricsSampler() { Stop(); }

void MetricsSampler::Start() {
  TakeSample();  // the baseline: counters are reported as deltas from it
  thread_ = std::thread([this] { Loop(); });
}

void MetricsSampler::Stop() {
  if (!thread_.joinable()) return;
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
  TakeSample();
}

void MetricsSampler::Loop() {
  std::unique_lock<std::mutex> lock(mu_);
  const auto period = std::chrono::duration<double>(period_s_);
  while (!cv_.wait_for(lock, period, [this] { return stop_; })) {
    lock.unlock();
    TakeSample();
    lock.lock();
  }
}

void MetricsSampler::TakeSample() {
  const double t = NowSeconds() - run_start_s_;
  StatusOr<PrometheusSamples> m = ScrapeMetrics(endpoint_, std::max(1.0, period_s_ * 2));
  MetricsSample s = m.ok() ? SampleFromMetrics(*m) : MetricsSample{};
  s.t_s = t;
  s.rss_mb = ReadRssMb(server_pid_);
  samples_.push_back(s);
}

}  // namespace kvs::loadgen
