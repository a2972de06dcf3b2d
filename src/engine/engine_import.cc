// Engine's import path for disaggregated decoding (declared in engine.h):
// a request whose prompt KV another engine computes and writes into this
// engine's pool. The request waits outside the scheduler, holding its
// blocks, until CommitImport makes it a running request with every prompt
// token but the last computed; the ordinary decode step then computes that
// last token and draws the first sample, exactly as a colocated prefill's
// last chunk would (results do not depend on batching or chunking).
#include <string>
#include <utility>

#include "base/check.h"
#include "engine/engine.h"

namespace kvs {

StatusOr<Engine::ImportPlan> Engine::ReserveImport(RequestId id, GenerationRequest request,
                                                   std::shared_ptr<OutputStream> stream) {
  KVS_RETURN_IF_ERROR(Validate(request));
  if (request.n != 1 || request.embedding != Pooling::kNone || request.prompt_logprobs >= 0) {
    return InvalidArgumentError(
        "a disaggregated request has one choice, no embedding and no prompt logprobs");
  }
  if (requests_.count(id) != 0) {
    return InvalidArgumentError("request id " + std::to_string(id) + " is already live");
  }
  const int n_import = static_cast<int>(request.prompt.size()) - 1;
  int n_cached = 0;
  if (config_.enable_prefix_caching)
    n_cached = kv_.LookupPrefix(id, request.prompt, request.cache_salt);
  if (!kv_.AllocateSlots(id, n_import)) {
    kv_.Free(id);  // the prefix hits go back, still cached
    return ResourceExhaustedError("not enough free KV blocks for the import yet");
  }
  if (!request.sampling.has_seed) {
    request.sampling.seed = seed_rng_();
    request.sampling.has_seed = true;
  }
  stats_.prompt_tokens += static_cast<int64_t>(request.prompt.size());
  stats_.prefix_cache_queried_tokens += static_cast<int64_t>(request.prompt.size());
  stats_.prefix_cache_hit_tokens += n_cached;
  ImportPlan plan;
  plan.n_cached_tokens = n_cached;
  plan.n_import_tokens = n_import;
  std::span<const BlockId> table = kv_.BlockTable(id);
  plan.blocks.assign(table.begin(), table.end());
  auto r = std::make_unique<Request>(id, next_arrival_++, std::move(request), tokenizer_,
                                     std::move(stream));
  r->n_cached_tokens = n_cached;
  importing_.emplace(id, r.get());
  requests_.emplace(id, std::move(r));
  return plan;
}

void Engine::CommitImport(RequestId id) {
  auto it = importing_.find(id);
  KVS_CHECK(it != importing_.end()) << "CommitImport of request " << id << " not reserved";
  Request* r = it->second;
  importing_.erase(it);
  r->n_computed_tokens = r->n_prompt_tokens() - 1;
  kv_.CommitTokens(id, r->tokens(), r->n_computed_tokens, r->cache_salt());
  r->TransitionTo(RequestState::kRunning);
  scheduler_.AddRunning(r);
}

void Engine::CancelImport(RequestId id, Status error) {
  auto it = importing_.find(id);
  if (it == importing_.end()) return;
  Request& r = *it->second;
  importing_.erase(it);
  kv_.Free(id);
  Finish(r, FinishReason::kError, std::move(error));
  requests_.erase(id);
}

}  // namespace kvs
