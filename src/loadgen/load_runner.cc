#include "loadgen/load_runner.h"

#include <chrono>
#include <cmath>
#include <condition_variable>
#include <random>
#include <thread>

#include "loadgen/story_text.h"

namespace kvs::loadgen {

LoadRunner::LoadRunner(const Scenario* scenario, LoadOptions options, SendFn send)
    : scenario_(scenario), options_(std::move(options)), send_(std::move(send)) {}

bool LoadRunner::TakeRequestSlot(double run_start_s) {
  if (NowSeconds() - run_start_s >= options_.duration_s) return false;
  return started_.fetch_add(1) < options_.max_requests;
}

void LoadRunner::RunSession(int64_t index, double run_start_s) {
  for (RequestSpec& spec : scenario_->Session(index)) {
    if (!TakeRequestSlot(run_start_s)) return;
    RequestResult r = send_(spec, run_start_s);
    const bool ok = r.ok;
    {
      std::lock_guard<std::mutex> lock(mu_);
      results_.push_back(std::move(r));
    }
    if (!ok) return;  // a conversation does not go on past a failed turn
  }
}

StatusOr<RunResult> LoadRunner::Run(double run_start_s) {
  if (options_.rate <= 0 && options_.concurrency <= 0) {
    return InvalidArgumentError("give a rate (open loop) or a concurrency (closed loop)");
  }
  if (options_.max_requests <= 0 || options_.duration_s <= 0) {
    return InvalidArgumentError("--requests and --duration must be positive");
  }
  const double deadline = run_start_s + options_.duration_s;
  std::vector<std::thread> threads;
  if (options_.rate > 0) {
    // Open loop. Sessions are counted by their own threads; the dispatcher
    // stops once every request slot was taken or time is up.
    StoryText rng(MixSeed(options_.seed, 0xa771));
    std::mutex in_flight_mu;
    std::condition_variable in_flight_cv;
    int in_flight = 0;
    double next = run_start_s;
    for (int64_t i = 0; started_.load() < options_.max_requests; ++i) {
      // Exponential inter-arrival time with mean 1/rate.
      next += -std::log(1.0 - rng.UniformDouble()) / options_.rate;
      if (next >= deadline) break;
      const double wait = next - NowSeconds();
      if (wait > 0) std::this_thread::sleep_for(std::chrono::duration<double>(wait));
      {
        std::unique_lock<std::mutex> lock(in_flight_mu);
        if (!in_flight_cv.wait_until(
                lock, std::chrono::steady_clock::now() + std::chrono::duration<double>(
                                                             std::max(0.0, deadline - NowSeconds())),
                [&] { return in_flight < options_.max_in_flight; })) {
          break;
        }
        ++in_flight;
      }
      // A session thread may not have reserved its slot yet, so the loop
      // condition can over-dispatch by a few; those sessions find no slot.
      if (static_cast<int64_t>(threads.size()) >= options_.max_requests) break;
      threads.emplace_back([this, i, run_start_s, &in_flight_mu, &in_flight_cv, &in_flight] {
        RunSession(i, run_start_s);
        std::lock_guard<std::mutex> lock(in_flight_mu);
        --in_flight;
        in_flight_cv.notify_all();
      });
    }
    for (auto& t : threads) t.join();
  } else {
    std::atomic<int64_t> next_session{0};
    for (int w = 0; w < options_.concurrency; ++w) {
      threads.emplace_back([this, run_start_s, &next_session] {
        while (started_.load() < options_.max_requests &&
               NowSeconds() - run_start_s < options_.duration_s) {
          RunSession(next_session.fetch_add(1), run_start_s);
        }
      });
    }
    for (auto& t : threads) t.join();
  }
  RunResult out;
  out.run_start_s = run_start_s;
  out.wall_s = NowSeconds() - run_start_s;
  out.requests = std::move(results_);
  return out;
}

}  // namespace kvs::loadgen
