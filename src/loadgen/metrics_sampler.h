// MetricsSampler: a thread that scrapes the server's /metrics (and, given a
// pid on this machine, its resident memory) at a fixed period during a run,
// so the report can show KV usage, queueing and memory over time.
//
// Ownership: owns its thread; Stop() (or the destructor) joins it. Samples
// are read after Stop(). Thread-safety: Start/Stop/samples from one thread.
// Bounded: one scrape per period with a short timeout; a failed scrape is
// recorded as a sample with ok=false, never retried in a loop.
#pragma once

#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

#include "loadgen/endpoint.h"

namespace kvs::loadgen {

// -1 marks "the server did not export this metric".
struct MetricsSample {
  double t_s = 0;  // since the run started
  bool ok = false;
  double kv_blocks_used = -1;
  double kv_blocks_total = -1;
  double kv_tokens_used = -1;  // tokens held in used blocks (kvserve_kv_tokens_used)
  double kv_block_size = -1;   // kvserve_kv_block_size, when exported
  double requests_running = -1;
  double requests_waiting = -1;
  double preemptions_total = -1;
  double prefix_queried_tokens_total = -1;
  double prefix_hit_tokens_total = -1;
  double rss_mb = -1;  // of the server process, when its pid is known
};

// VmRSS of a process from /proc/<pid>/status, in MiB; -1 if unreadable.
double ReadRssMb(int pid);

// Fills one sample from a scrape (the parse is separated out for tests).
class PrometheusSamples;
MetricsSample SampleFromMetrics(const PrometheusSamples& metrics);

class MetricsSampler {
 public:
  // server_pid <= 0: no RSS sampling.
  MetricsSampler(Endpoint endpoint, double period_s, int server_pid, double run_start_s);
  ~MetricsSampler();
  MetricsSampler(const MetricsSampler&) = delete;
  MetricsSampler& operator=(const MetricsSampler&) = delete;

  void Start();
  void Stop();  // takes one last sample, then joins
  const std::vector<MetricsSample>& samples() const { return samples_; }

 private:
  void Loop();
  void TakeSample();

  const Endpoint endpoint_;
  const double period_s_;
  const int server_pid_;
  const double run_start_s_;
  std::thread thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::vector<MetricsSample> samples_;  // written by the thread until joined
};

}  // namespace kvs::loadgen
