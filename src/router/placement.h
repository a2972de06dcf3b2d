// Placement: which decode worker and which prefill worker take a request.
// A pure function of what the router knows, so that the policy is tested
// without processes.
//
// Both choices use rendezvous hashing on the request's prefix key (a hash of
// the tenant and the prompt's first bytes), bounded by load: among the
// workers whose load is within `slack` of the least loaded, the one with
// the highest hash score wins. A decode worker with less than
// kMinKvFree of its KV blocks free is passed over while another has more
// (it would queue the request for blocks, or preempt). Requests that share a prefix go to the same
// decode worker (its prefix cache then supplies the blocks and they are not
// transferred) and the same prefill worker (whose prefix cache saves the
// compute), unless that worker is busier than the others by more than
// `slack` requests. The prefill worker must have a live KV link to the
// chosen decode worker; none: the decode worker computes the prompt itself.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace kvs::router {

struct WorkerView {
  std::string name;  // the worker's own name (prefill: as decode workers know it)
  bool up = false;
  bool excluded = false;  // already failed this request
  int64_t load = 0;       // requests in flight through the router, plus queued ones it reports
  double kv_free = 1.0;   // decode workers: the share of KV blocks not held by requests
  // Decode workers: the prefill workers they hold a live KV link to.
  std::vector<std::string> linked;
};

struct PlacementChoice {
  int decode = -1;   // index into the decode views; -1: none is up
  int prefill = -1;  // index into the prefill views; -1: colocated on the decode worker
};

inline constexpr double kMinKvFree = 0.1;

uint64_t PrefixKey(const std::string& tenant, const std::string& prompt_head);

PlacementChoice Place(const std::vector<WorkerView>& decode, const std::vector<WorkerView>& prefill,
                      uint64_t key, int64_t slack = 2);

}  // namespace kvs::router
