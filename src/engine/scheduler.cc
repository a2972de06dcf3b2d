#include "engine/scheduler.h"

#include <algorithm>

#include "base/check.h"

namespace kvs {
namespace {

// Lower priority value runs first; FCFS within a priority.
bool RunsBefore(const Request* a, const Request* b) {
  if (a->priority() != b->priority()) return a->priority() < b->priority();
  return a->arrival() < b->arrival();
}

void InsertSorted(std::vector<Request*>& queue, Request* r) {
  queue.insert(std::upper_bound(queue.begin(), queue.end(), r, RunsBefore), r);
}

bool Erase(std::vector<Request*>& queue, Request* r) {
  auto it = std::find(queue.begin(), queue.end(), r);
  if (it == queue.end()) return false;
  queue.erase(it);
  return true;
}

}  // namespace

Scheduler::Scheduler(const EngineConfig& config, KvCacheManager* kv) : config_(config), kv_(kv) {
  running_.reserve(static_cast<size_t>(config.max_running));
  out_.scheduled.reserve(static_cast<size_t>(config.max_running));
}

void Scheduler::AddWaiting(Request* request) {
  KVS_CHECK(request->state() == RequestState::kWaiting) << "new requests start waiting";
  InsertSorted(waiting_, request);
}

void Scheduler::AddRunning(Request* request) {
  KVS_CHECK(request->state() == RequestState::kRunning) << "AddRunning takes a running request";
  InsertSorted(running_, request);
}

void Scheduler::Remove(Request* request) {
  if (request->n_scheduled_tokens > 0) Unschedule(request);
  if (Erase(running_, request) || Erase(waiting_, request)) kv_->Free(request->id());
}

void Scheduler::Unschedule(Request* request) {
  auto& s = out_.scheduled;
  auto it = std::find_if(s.begin(), s.end(),
                         [request](const ScheduledRequest& x) { return x.request == request; });
  KVS_CHECK(it != s.end()) << "request " << request->id() << " marked scheduled but not listed";
  budget_ += it->n_new_tokens;
  out_.n_tokens -= it->n_new_tokens;
  s.erase(it);
  request->n_scheduled_tokens = 0;
}

void Scheduler::Preempt(Request* victim) {
  if (victim->n_scheduled_tokens > 0) Unschedule(victim);
  KVS_CHECK(Erase(running_, victim)) << "only running requests are preempted";
  kv_->Free(victim->id());  // its full blocks stay cached: resuming is mostly a hit
  victim->n_computed_tokens = 0;
  victim->n_preemptions++;
  victim->TransitionTo(RequestState::kPreempted);
  InsertSorted(waiting_, victim);
  out_.n_preempted++;
}

bool Scheduler::ScheduleRunning(Request* request, int n) {
  while (!kv_->AllocateSlots(request->id(), request->n_computed_tokens + n)) {
    // running_ is sorted, so the lowest-priority, latest arrival is last.
    Request* victim = running_.back();
    Preempt(victim);
    if (victim == request) return false;
  }
  out_.scheduled.push_back({request, n});
  request->n_scheduled_tokens = n;
  out_.n_tokens += n;
  budget_ -= n;
  return true;
}

bool Scheduler::WaitsForSharedPrefix(const Request& r) const {
  const int bs = kv_->block_size();
  std::span<const TokenId> mine = r.tokens();
  for (const Request* other : running_) {
    const int computed = other->n_computed_tokens;
    if (computed >= other->n_prompt_tokens() || other->cache_salt() != r.cache_salt()) continue;
    std::span<const TokenId> theirs = other->tokens();
    // r can take at most n_tokens - 1 tokens from the cache (see LookupPrefix).
    const size_t limit = std::min(mine.size() - 1, theirs.size());
    size_t common = 0;
    while (common < limit && mine[common] == theirs[common]) ++common;
    if (static_cast<int>(common) / bs > computed / bs) return true;
  }
  return false;
}

bool Scheduler::Admit(size_t index) {
  Request* r = waiting_[index];
  if (r->n_computed_tokens == 0 && config_.enable_prefix_caching) {
    r->n_computed_tokens = kv_->LookupPrefix(r->id(), r->tokens(), r->cache_salt());
  }
  const int remaining = r->n_tokens() - r->n_computed_tokens;
  int n = std::min(remaining, budget_);
  if (n < remaining && !config_.enable_chunked_prefill) {
    // Whole or nothing; a prompt longer than the budget runs alone.
    if (!out_.scheduled.empty()) n = 0;
    else n = remaining;
  }
  if (n <= 0 || !kv_->AllocateSlots(r->id(), r->n_computed_tokens + n)) {
    kv_->Free(r->id());  // give back the prefix blocks looked up above
    r->n_computed_tokens = 0;
    return false;
  }
  waiting_.erase(waiting_.begin() + static_cast<std::ptrdiff_t>(index));
  const int cached = r->n_computed_tokens;
  out_.prefix_queried_tokens += r->n_tokens();
  out_.prefix_hit_tokens += cached;
  if (r->n_cached_tokens < 0) r->n_cached_tokens = cached;
  r->TransitionTo(RequestState::kRunning);
  InsertSorted(running_, r);
  out_.scheduled.push_back({r, n});
  r->n_scheduled_tokens = n;
  out_.n_tokens += n;
  budget_ -= n;
  return true;
}

const SchedulerOutput& Scheduler::Schedule() {
  for (const ScheduledRequest& s : out_.scheduled) s.request->n_scheduled_tokens = 0;
  out_.scheduled.clear();
  out_.n_tokens = 0;
  out_.n_preempted = 0;
  out_.prefix_queried_tokens = 0;
  out_.prefix_hit_tokens = 0;
  budget_ = config_.max_batched_tokens;

  // Pass 1: decoders, one token each. Pass 2: chunks of prompts/recomputes.
  // Preemption removes requests from running_, so walk by index and re-check.
  for (int pass = 0; pass < 2; ++pass) {
    for (size_t i = 0; i < running_.size() && budget_ > 0; ++i) {
      Request* r = running_[i];
      if (r->n_scheduled_tokens > 0) continue;
      const int remaining = r->n_tokens() - r->n_computed_tokens;
      KVS_CHECK_GE(remaining, 1) << "running request " << r->id() << " has nothing to compute";
      if ((pass == 0) != (remaining == 1)) continue;
      int n = std::min(remaining, budget_);
      if (n < remaining && !config_.enable_chunked_prefill) continue;
      if (!ScheduleRunning(r, n)) break;  // r was the last of running_
    }
  }
  if (out_.n_preempted > 0) return out_;

  // Priority and arrival order, except that a request whose prefix another
  // is computing right now is passed over until those blocks are cached.
  size_t i = 0;
  while (i < waiting_.size() && budget_ > 0 &&
         static_cast<int>(running_.size()) < config_.max_running) {
    if (config_.enable_prefix_caching && WaitsForSharedPrefix(*waiting_[i])) {
      ++i;
      continue;
    }
    if (!Admit(i)) break;
  }
  return out_;
}

}  // namespace kvs
