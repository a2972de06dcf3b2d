// Test-only: a Transport that passes calls through to another and closes it
// after a number of Sends or Receives, as a peer that dies mid-transfer
// looks to the engine on the other end; or, after a number of Sends, drops
// every later one without a word (a peer that vanished with no reset).
#pragma once

#include <atomic>
#include <memory>

#include "disagg/transport.h"

namespace kvs::testing {

class FaultyTransport final : public Transport {
 public:
  // -1: never.
  FaultyTransport(std::unique_ptr<Transport> inner, int close_after_sends, int close_after_receives,
                  int silent_after_sends = -1)
      : inner_(std::move(inner)),
        sends_left_(close_after_sends),
        receives_left_(close_after_receives),
        loud_sends_left_(silent_after_sends) {}

  Status Send(std::span<const ConstBuffer> parts) override {
    if (loud_sends_left_.load() == 0) return Status::Ok();  // swallowed
    if (loud_sends_left_.load() > 0) loud_sends_left_.fetch_sub(1);
    if (sends_left_.fetch_sub(1) == 0) {
      inner_->Close();
      return UnavailableError("injected fault: closed before a send");
    }
    return inner_->Send(parts);
  }
  Status ReceiveWithin(void* dst, size_t n, int timeout_ms) override {
    if (receives_left_.fetch_sub(1) == 0) {
      inner_->Close();
      return UnavailableError("injected fault: closed before a receive");
    }
    return inner_->ReceiveWithin(dst, n, timeout_ms);
  }
  void Close() override { inner_->Close(); }
  TransportKind kind() const override { return inner_->kind(); }

 private:
  std::unique_ptr<Transport> inner_;
  std::atomic<int> sends_left_;
  std::atomic<int> receives_left_;
  std::atomic<int> loud_sends_left_;
};

}  // namespace kvs::testing
