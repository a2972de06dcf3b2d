// ThreadPool: a fixed set of worker threads for data-parallel loops.
//
// Ownership: the pool owns and joins its threads. Thread-safety: Run() may be
// called from one thread at a time (the owner, e.g. the engine thread); the
// calling thread takes part in the work. Workers spin briefly before sleeping
// so that the many short parallel sections of a decode step do not pay a
// futex wake-up each.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace kvs {

class ThreadPool {
 public:
  // n_threads counts the caller: 1 means no worker threads.
  explicit ThreadPool(int n_threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int n_threads() const { return n_threads_; }

  // Calls fn(thread_index, n_threads) once on every thread, the caller being
  // thread 0, and returns when all calls have returned. fn must not throw.
  void Run(const std::function<void(int, int)>& fn);

  // Splits [0, n) into n_threads contiguous chunks; calls fn(begin, end).
  void ParallelFor(int64_t n, const std::function<void(int64_t, int64_t)>& fn);

 private:
  void WorkerLoop(int index);

  const int n_threads_;
  std::vector<std::thread> workers_;
  const std::function<void(int, int)>* job_ = nullptr;
  std::atomic<uint64_t> generation_{0};
  std::atomic<int> pending_{0};
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  std::condition_variable wake_;
};

}  // namespace kvs
