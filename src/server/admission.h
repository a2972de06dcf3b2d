// ConcurrencyLimiter: bounds the generation requests in flight (queued in
// the engine or streaming), so that load past --max-concurrent-requests is
// refused at once with 429 + Retry-After instead of piling up HTTP threads.
//
// A Slot is held for the whole life of a request, streaming included, and
// given back by its destructor. Thread-safe.
#pragma once

#include <atomic>
#include <memory>

namespace kvs::server {

class ConcurrencyLimiter {
 public:
  explicit ConcurrencyLimiter(int max_in_flight) : max_(max_in_flight) {}

  class Slot {
   public:
    explicit Slot(ConcurrencyLimiter* owner) : owner_(owner) {}
    ~Slot() { owner_->in_flight_.fetch_sub(1, std::memory_order_acq_rel); }
    Slot(const Slot&) = delete;
    Slot& operator=(const Slot&) = delete;

   private:
    ConcurrencyLimiter* owner_;
  };

  // nullptr when max_in_flight slots are taken. The limiter must outlive
  // the slot.
  std::unique_ptr<Slot> TryAcquire();

  int in_flight() const { return in_flight_.load(std::memory_order_acquire); }
  int max_in_flight() const { return max_; }

 private:
  const int max_;
  std::atomic<int> in_flight_{0};
};

}  // namespace kvs::server
