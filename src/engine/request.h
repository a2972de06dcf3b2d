// Request: one generation request's state inside the engine.
//
// Owned by the Engine (through a unique_ptr, so its address is stable) and
// touched only by the engine thread; not thread-safe. The scheduler and the
// engine step hold raw pointers to it while it is queued or running.
//
// Model (vLLM v1): `tokens` is the prompt followed by every output token so
// far; n_computed_tokens (tokens whose KV is stored) catches up with
// n_tokens(). A prompt, a chunk of a prompt, a prefix-cache hit, a recompute
// after preemption and a decode step are all the same rule: compute
// tokens[n_computed_tokens, n_tokens()) under the step's budget; a step that
// reaches n_tokens() samples one new token.
//
// Invariants:
//  - 0 <= n_computed_tokens < n_tokens() while not finished (the newest
//    token is never computed before it is scheduled);
//  - tokens has capacity prompt + max_tokens, so appending never reallocates;
//  - state follows the transitions allowed by TransitionTo (checked).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "engine/output_stream.h"
#include "engine/request_types.h"
#include "grammar/grammar_matcher.h"
#include "sampling/sampler.h"
#include "tokenizer/detokenizer.h"

namespace kvs {

enum class RequestState { kWaiting, kRunning, kPreempted, kFinished, kAborted };
const char* RequestStateName(RequestState s);

class Request {
 public:
  // arrival orders requests of equal priority (FCFS). tokenizer may be null
  // (no text, no stop strings); it is borrowed.
  // grammar_cache: where request.grammar's matcher keeps its DFA and masks
  // (shared with other requests of an equal grammar); null for a cache of
  // its own.
  Request(RequestId id, int64_t arrival, GenerationRequest request, const Tokenizer* tokenizer,
          std::shared_ptr<OutputStream> stream, std::shared_ptr<GrammarCache> grammar_cache = nullptr);
  Request(const Request&) = delete;
  Request& operator=(const Request&) = delete;

  RequestId id() const { return id_; }
  int64_t arrival() const { return arrival_; }
  int priority() const { return priority_; }
  const std::string& cache_salt() const { return cache_salt_; }
  const StopConditions& stop() const { return stop_; }
  bool wants_logprobs() const { return wants_logprobs_; }

  std::span<const TokenId> tokens() const { return tokens_; }
  std::span<const TokenId> prompt() const { return {tokens_.data(), size_t(n_prompt_tokens_)}; }
  std::span<const TokenId> output() const {
    return {tokens_.data() + n_prompt_tokens_, tokens_.size() - n_prompt_tokens_};
  }
  int n_tokens() const { return static_cast<int>(tokens_.size()); }
  int n_prompt_tokens() const { return n_prompt_tokens_; }
  int n_output_tokens() const { return n_tokens() - n_prompt_tokens_; }

  // Tokens whose KV is stored (prefix-cache hits included).
  int n_computed_tokens = 0;
  // Tokens handed to this request by the current step's schedule (0 if none).
  int n_scheduled_tokens = 0;
  // Prompt tokens served from the prefix cache when first scheduled; -1 before.
  int n_cached_tokens = -1;
  int n_preemptions = 0;

  RequestState state() const { return state_; }
  bool is_finished() const {
    return state_ == RequestState::kFinished || state_ == RequestState::kAborted;
  }
  // Aborts (KVS_CHECK) on a transition the state machine does not allow.
  void TransitionTo(RequestState next);

  Sampler& sampler() { return sampler_; }
  Pooling embedding() const { return embedding_; }
  int prompt_logprobs() const { return prompt_logprobs_; }
  // Whether every prompt position must be computed here (not taken from
  // the prefix cache): embeddings and prompt logprobs not yet delivered.
  bool needs_every_position() const {
    return embedding_ != Pooling::kNone || (prompt_logprobs_ >= 0 && !prompt_samples_sent_);
  }
  // Largest chunk of a prompt in one step (a prompt-logprobs chunk makes a
  // logits row per token).
  int max_chunk() const { return needs_every_position() && prompt_logprobs_ >= 0 ? kPromptLogprobsChunk : 1 << 30; }
  std::vector<SampleResult>& prompt_samples() { return prompt_samples_; }
  bool prompt_samples_sent() const { return prompt_samples_sent_; }
  void set_prompt_samples_sent() { prompt_samples_sent_ = true; }
  // Embedding: the running sum (mean) or last row of the hidden states.
  std::vector<double>& pooled() { return pooled_; }
  // Null when the request has no grammar.
  GrammarMatcher* matcher() { return matcher_.get(); }
  // The grammar's token mask for this step (a bit per token), kept here so
  // that decoding does not allocate.
  std::vector<uint64_t>& grammar_mask() { return grammar_mask_; }
  // Appends a sampled token. REQUIRES: fewer than max_tokens outputs so far.
  void AppendToken(TokenId id);

  // Text side; returns {} when there is no tokenizer.
  IncrementalDetokenizer::Result Detokenize(TokenId id);
  std::string FlushText();

  OutputStream& stream() { return *stream_; }

  // Choices 1..n-1 of an n > 1 request before it forks: their streams, and
  // what each child is made from (the request without its prompt).
  void SetUnforkedChoices(std::vector<std::shared_ptr<OutputStream>> streams, GenerationRequest tmpl) {
    unforked_streams_ = std::move(streams);
    choice_template_ = std::move(tmpl);
  }
  bool has_unforked_choices() const { return !unforked_streams_.empty(); }
  std::vector<std::shared_ptr<OutputStream>> TakeUnforkedStreams() { return std::move(unforked_streams_); }
  const GenerationRequest& choice_template() const { return choice_template_; }

 private:
  const RequestId id_;
  const int64_t arrival_;
  const int priority_;
  const std::string cache_salt_;
  const StopConditions stop_;
  const bool wants_logprobs_;
  const int n_prompt_tokens_;
  std::vector<TokenId> tokens_;  // [prompt + outputs], capacity prompt + max_tokens
  RequestState state_ = RequestState::kWaiting;
  Sampler sampler_;
  const Pooling embedding_;
  std::vector<double> pooled_;
  const int prompt_logprobs_;
  std::vector<SampleResult> prompt_samples_;
  bool prompt_samples_sent_ = false;
  std::unique_ptr<GrammarMatcher> matcher_;  // holds its cache, which holds the grammar
  std::vector<uint64_t> grammar_mask_;
  std::unique_ptr<IncrementalDetokenizer> detokenizer_;  // null without a tokenizer
  std::shared_ptr<OutputStream> stream_;
  std::vector<std::shared_ptr<OutputStream>> unforked_streams_;
  GenerationRequest choice_template_;
};

}  // namespace kvs
