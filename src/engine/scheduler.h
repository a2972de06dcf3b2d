// Scheduler: decides, each step, which requests compute how many tokens.
//
// It deals in requests, token counts and the KV manager's blocks; it never
// touches tensors or the model. Owned by the Engine, used only by the engine
// thread; not thread-safe. Requests are borrowed (the Engine owns them).
//
// Policy (vLLM v1 style, no prefill/decode phases): a request needs
// tokens[n_computed_tokens, n_tokens()) computed. Each Schedule():
//  1. running requests that are decoding (one token left) get one token each,
//  2. running requests with a prompt (or recompute) left get a chunk of the
//     remaining budget, so a long prompt never stalls the decoders,
//  3. waiting requests, by (priority, arrival), are admitted while the budget,
//     max_running and the KV blocks allow; admission looks the prompt (plus
//     outputs, for a preempted request) up in the prefix cache first.
// When AllocateSlots fails for a running request, the running request with the
// lowest priority (highest value) and latest arrival is preempted: its blocks
// are freed (they stay cached), n_computed_tokens goes back to 0 and it waits
// again, keeping its output tokens, which will be recomputed. No waiting
// request is admitted in a step that preempted.
//
// Invariants: running_ and waiting_ are sorted by (priority, arrival); a
// request is in at most one of them; every running request holds KV blocks
// for at least its computed tokens.
#pragma once

#include <cstdint>
#include <vector>

#include "engine/engine_config.h"
#include "engine/request.h"
#include "kv/kv_cache_manager.h"

namespace kvs {

struct ScheduledRequest {
  Request* request;
  int n_new_tokens;  // tokens [n_computed_tokens, n_computed_tokens + n_new_tokens)
};

struct SchedulerOutput {
  std::vector<ScheduledRequest> scheduled;  // batch order
  int n_tokens = 0;
  int n_preempted = 0;
  // Prefix-cache accounting of the requests admitted this step.
  int64_t prefix_queried_tokens = 0;
  int64_t prefix_hit_tokens = 0;
};

class Scheduler {
 public:
  // kv is borrowed and must outlive the scheduler.
  Scheduler(const EngineConfig& config, KvCacheManager* kv);

  // Queues a new request (state kWaiting).
  void AddWaiting(Request* request);
  // Adds a request that is already running and holds blocks for its
  // computed tokens (a choice forked from its parent).
  void AddRunning(Request* request);

  // Makes this step's schedule. The returned reference is valid until the
  // next call (its vectors are reused, so the steady state does not allocate).
  const SchedulerOutput& Schedule();

  // Takes a request out of whichever queue holds it and frees its blocks.
  // Used for finished and aborted requests. Unknown requests: no-op.
  void Remove(Request* request);

  int n_running() const { return static_cast<int>(running_.size()); }
  int n_waiting() const { return static_cast<int>(waiting_.size()); }
  bool HasWork() const { return !running_.empty() || !waiting_.empty(); }
  const std::vector<Request*>& running() const { return running_; }
  const std::vector<Request*>& waiting() const { return waiting_; }

 private:
  // Gives `request` n tokens (growing its blocks), preempting others as
  // needed. Returns false when `request` itself had to be preempted.
  bool ScheduleRunning(Request* request, int n);
  void Preempt(Request* victim);
  // Tries to admit waiting_[index]; false when it does not fit this step.
  bool Admit(size_t index);
  // True when a running request that is still computing its prompt will
  // soon hold full blocks of r's prefix that the cache does not have yet:
  // r then waits a step or more and takes them from the prefix cache
  // instead of computing the same prefix alongside it.
  bool WaitsForSharedPrefix(const Request& r) const;
  void Unschedule(Request* request);

  const EngineConfig config_;
  KvCacheManager* const kv_;
  std::vector<Request*> running_;  // sorted by (priority, arrival)
  std::vector<Request*> waiting_;  // sorted by (priority, arrival)
  SchedulerOutput out_;
  int budget_ = 0;
};

}  // namespace kvs
