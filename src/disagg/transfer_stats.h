// Counters of KV transfer on either side of a disaggregated pair, for
// /metrics and the benchmarks. A plain value; the workers hand out copies.
//
// On the prefill side: send_busy_s is the time spent inside Transport::Send
// for KV frames; exposed_s the part of it after the request's last layer
// was computed (each frame's send interval clipped to after the compute
// end): the transfer not hidden behind compute, so hidden_fraction() =
// 1 - exposed / busy; per layer the same in layer_busy_s / layer_exposed_s.
// tail_s is the wall time Prefill waited after its compute for the sender
// to finish (what the first token pays); queue_s the time each request's
// reservation waited for Prefill to take it (another request computing).
// On the decode side, queue_s sums each request's wait for its blocks
// (Submit to reservation) and transfer_s its time from reservation to its
// last frame (the prefill side's queue, compute and tail together).
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

namespace kvs {

struct TransferStats {
  int64_t requests_ok = 0;
  int64_t requests_failed = 0;
  int64_t bytes = 0;         // KV payload bytes sent (prefill) or received (decode)
  int64_t blocks = 0;        // request blocks moved (each counted once, all layers together)
  int64_t block_layers = 0;  // (block, layer) pairs moved
  int64_t frames = 0;
  double compute_s = 0;  // prefill forward passes of transferred requests
  double send_busy_s = 0;
  double exposed_s = 0;
  double tail_s = 0;
  double transfer_s = 0;
  double queue_s = 0;
  std::vector<double> layer_busy_s;     // [n_layers], prefill side
  std::vector<double> layer_exposed_s;  // [n_layers], prefill side

  // Adds another worker's counters (per-layer vectors element by element).
  TransferStats& operator+=(const TransferStats& o) {
    requests_ok += o.requests_ok;
    requests_failed += o.requests_failed;
    bytes += o.bytes;
    blocks += o.blocks;
    block_layers += o.block_layers;
    frames += o.frames;
    compute_s += o.compute_s;
    send_busy_s += o.send_busy_s;
    exposed_s += o.exposed_s;
    tail_s += o.tail_s;
    transfer_s += o.transfer_s;
    queue_s += o.queue_s;
    auto add = [](std::vector<double>& a, const std::vector<double>& b) {
      if (a.size() < b.size()) a.resize(b.size(), 0.0);
      for (size_t i = 0; i < b.size(); ++i) a[i] += b[i];
    };
    add(layer_busy_s, o.layer_busy_s);
    add(layer_exposed_s, o.layer_exposed_s);
    return *this;
  }

  double hidden_fraction() const {
    if (send_busy_s <= 0) return 1.0;
    return std::clamp(1.0 - exposed_s / send_busy_s, 0.0, 1.0);
  }
};

}  // namespace kvs
