// LoadRunner: drives a scenario against a server, open loop or closed loop.
//
//   open loop   sessions arrive as a Poisson process at `rate` per second
//               (seeded), each on its own thread, whether or not earlier ones
//               finished: the server's queueing shows up in the latencies.
//   closed loop `concurrency` users, each sending its next session as soon
//               as the previous one finished.
//
// Bounded: no request starts after `max_requests` were started or after
// `duration_s`; each request is abandoned after its own timeout; open loop
// never has more than `max_in_flight` sessions at once (an arrival beyond
// that waits for a free slot, so the achieved rate falls below the offered
// one; request_throughput_rps in the report shows it).
//
// Thread-safety: Run() is called from one thread and joins every thread it
// starts before returning.
#pragma once

#include <cstdint>
#include <atomic>
#include <functional>
#include <mutex>
#include <vector>

#include "loadgen/endpoint.h"
#include "loadgen/scenario.h"
#include "loadgen/stream_client.h"

namespace kvs::loadgen {

struct LoadOptions {
  double rate = 0;       // > 0: open loop at this many sessions per second
  int concurrency = 0;   // > 0: closed loop (used when rate == 0)
  int64_t max_requests = 32;
  double duration_s = 300;
  uint64_t seed = 1;
  int max_in_flight = 256;
  StreamOptions stream;
};

struct RunResult {
  std::vector<RequestResult> requests;  // in order of completion
  double wall_s = 0;                    // run start to the last completion
  double run_start_s = 0;               // NowSeconds() origin of start_s
};

// Sends one request and returns its result; the seam for tests.
using SendFn = std::function<RequestResult(const RequestSpec&, double run_start_s)>;

class LoadRunner {
 public:
  LoadRunner(const Scenario* scenario, LoadOptions options, SendFn send);

  // REQUIRES: options.rate > 0 or options.concurrency > 0 (else kInvalidArgument).
  // `run_start_s` is the origin used by the metrics sampler too.
  StatusOr<RunResult> Run(double run_start_s);

 private:
  // Runs one session's turns in order while the budget allows.
  void RunSession(int64_t index, double run_start_s);
  // Reserves one request slot; false when the count or time budget is spent.
  bool TakeRequestSlot(double run_start_s);

  const Scenario* scenario_;  // not owned
  const LoadOptions options_;
  const SendFn send_;
  std::atomic<int64_t> started_{0};
  std::mutex mu_;
  std::vector<RequestResult> results_;
};

}  // namespace kvs::loadgen
