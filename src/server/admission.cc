#include "server/admission.h"

namespace kvs::server {

std::unique_ptr<ConcurrencyLimiter::Slot> ConcurrencyLimiter::TryAcquire() {
  int cur = in_flight_.load(std::memory_order_acquire);
  while (cur < max_) {
    if (in_flight_.compare_exchange_weak(cur, cur + 1, std::memory_order_acq_rel)) {
      return std::make_unique<Slot>(this);
    }
  }
  return nullptr;
}

}  // namespace kvs::server
