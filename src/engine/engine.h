// Engine: the single-threaded core of continuous batching. One Step() runs
// the scheduler, builds one flattened Batch over every scheduled token of
// every request, performs pending copy-on-write copies, runs the model once,
// samples, appends, commits KV, checks stop conditions and streams deltas.
//
// Ownership: owns the model runner, the KV cache manager, the scheduler and
// every Request; borrows the tokenizer (may be null: no text, no stop
// strings). Thread-safety: not thread-safe; EngineLoop's thread is its only
// user, except Validate(), which reads only immutable state and may be called
// from any thread.
#pragma once

#include <cstdint>
#include <memory>
#include <random>
#include <unordered_map>
#include <vector>

#include "base/status.h"
#include "engine/engine_config.h"
#include "engine/kv_snapshot.h"
#include "engine/request.h"
#include "engine/scheduler.h"
#include "grammar/grammar_cache_lru.h"
#include "grammar/token_trie.h"
#include "kv/kv_cache_manager.h"
#include "model/batch.h"
#include "runtime/model_runner.h"
#include "tokenizer/tokenizer.h"

namespace kvs {

class Engine {
 public:
  static constexpr int kMaxChoices = 128;  // GenerationRequest::n at most

  static StatusOr<std::unique_ptr<Engine>> Create(std::unique_ptr<ModelRunner> runner,
                                                  const Tokenizer* tokenizer,
                                                  const EngineConfig& config);

  // Checks what Submit must reject up front: an empty prompt, out-of-vocab
  // ids, max_tokens < 1, prompt + max_tokens beyond the context, a request
  // that could not fit in KV memory even alone. Thread-safe.
  Status Validate(const GenerationRequest& request) const;

  // Queues a request. REQUIRES: Validate(request) is OK and id is new.
  // A request without a seed gets one drawn by the engine.
  void AddRequest(RequestId id, GenerationRequest request, std::shared_ptr<OutputStream> stream);
  // The same for request.n choices: choice i streams on streams[i] and
  // runs as request streams[i]->id() once forked (choice 0 is `id`).
  // REQUIRES: streams.size() == request.n, ids new.
  void AddRequest(RequestId id, GenerationRequest request,
                  std::vector<std::shared_ptr<OutputStream>> streams);

  // Ends the request with kAbort and frees its blocks, whatever its state.
  // Unknown or finished ids: no-op.
  void Abort(RequestId id);
  void AbortAll();

  // One step. Returns the runner's error, if any (the scheduled requests then
  // end with kError; the engine stays usable).
  Status Step();

  // Disaggregated decoding (src/disagg, engine_import.cc): a request whose
  // prompt KV, all but the last prompt token, is written into this engine's
  // pool by another engine. ReserveImport validates it, looks its prompt up
  // in the prefix cache and allocates blocks for prompt[0, n - 1), held
  // outside the scheduler; ResourceExhausted (changing nothing) when the free
  // blocks do not suffice: the caller retries later, so a request is admitted
  // only once its blocks are there. CommitImport: the KV has landed; the
  // request runs from its last prompt token (its first sample is drawn here,
  // so seeded sampling continues exactly). CancelImport frees the blocks and
  // ends the stream with `error`. n must be 1; no embeddings or prompt
  // logprobs (they need every position computed here).
  struct ImportPlan {
    int n_cached_tokens = 0;      // leading tokens the prefix cache supplied
    int n_import_tokens = 0;      // prompt tokens whose KV must arrive (n - 1)
    std::vector<BlockId> blocks;  // block table for tokens [0, n_import_tokens)
  };
  StatusOr<ImportPlan> ReserveImport(RequestId id, GenerationRequest request,
                                     std::shared_ptr<OutputStream> stream);
  // REQUIRES: id reserved and not committed or cancelled.
  void CommitImport(RequestId id);
  void CancelImport(RequestId id, Status error);
  int n_importing() const { return static_cast<int>(importing_.size()); }

  bool HasWork() const { return scheduler_.HasWork(); }
  EngineStats Stats() const;
  // Fills out with the block states, the tenants of blocks in use and
  // Stats(). O(n_blocks + blocks held); no allocation once out has been
  // filled for this pool (engine_snapshot.cc).
  void FillKvSnapshot(KvSnapshot* out) const;
  const KvCacheManager& kv() const { return kv_; }
  // Prefix-cache stores and evictions are appended to log from now on
  // (kv/kv_events.h); nullptr stops it. Borrowed: keep it alive until replaced.
  void SetKvEventLog(KvEventLog* log) { kv_.SetEventLog(log); }
  const Scheduler& scheduler() const { return scheduler_; }
  // Largest number of tokens in one step so far (for tests of the budget).
  int max_step_tokens() const { return max_step_tokens_; }

 private:
  Engine(std::unique_ptr<ModelRunner> runner, const Tokenizer* tokenizer,
         const EngineConfig& config);
  // Appends a sampled token, checks stop conditions, streams the delta;
  // returns true when the request finished.
  bool ProcessToken(Request& r, const SampleResult& sample);
  void Finish(Request& r, FinishReason reason, Status error = Status::Ok());
  // Embedding requests: folds the hidden states [n, hidden_size] of the
  // chunk at `start` into r's pooled vector; FinishEmbedding sends it,
  // normalized, and ends the request.
  void Pool(Request& r, int start, int n, const float* hidden);
  void FinishEmbedding(Request& r);
  // Whether r's chunk at `start` gets a logits row per token (prompt logprobs).
  bool ScoresPrompt(Request& r, int start) const;
  // Forks a request with unforked choices: each child shares its blocks,
  // has computed what it has, runs from now on, and is appended to `out`.
  void ForkChoices(Request& parent, std::vector<Request*>* out);
  // Samples r's next token from `logits` and processes it; a request that
  // finishes goes to finished_this_step_.
  void SampleInto(Request& r, std::span<const float> logits);
  // Fills r's grammar mask for this step: the text tokens its grammar
  // allows, plus the end-of-generation tokens once it is complete. Returns
  // false when no token is allowed. REQUIRES: r.matcher() and a tokenizer.
  bool FillGrammarMask(Request& r);
  // Fills eog_ids_ once. REQUIRES: a tokenizer.
  void EnsureEndOfGenerationIds();

  const EngineConfig config_;
  const std::unique_ptr<ModelRunner> runner_;
  const Tokenizer* const tokenizer_;
  const int vocab_size_;
  const int max_context_;
  const int block_size_;
  const int n_kv_blocks_;
  KvCacheManager kv_;
  Scheduler scheduler_;
  std::unordered_map<RequestId, std::unique_ptr<Request>> requests_;  // live requests
  // Reserved imports (in requests_, in no scheduler queue, holding blocks).
  std::unordered_map<RequestId, Request*> importing_;
  std::vector<Request*> finished_this_step_;  // reused
  std::vector<Request*> forked_;              // reused
  // Built on the first request with a grammar (tens of ms at 150k tokens).
  std::unique_ptr<TokenTrie> token_trie_;
  // Requests with equal grammars (n choices, a service's one schema) share
  // the DFA and the masks: the first step inside a JSON string costs
  // milliseconds at a 150k vocabulary, once per grammar instead of per
  // request. Eight: a cache can reach a few MB at that vocabulary.
  GrammarCacheLru grammar_caches_{8};
  std::vector<TokenId> eog_ids_;
  bool eog_ready_ = false;
  Batch batch_;                                // reused
  std::mt19937_64 seed_rng_;
  int64_t next_arrival_ = 0;
  int max_step_tokens_ = 0;
  EngineStats stats_;
};

}  // namespace kvs
