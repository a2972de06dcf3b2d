#include "engine/engine.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <utility>

#include "base/check.h"

namespace kvs {

StatusOr<std::unique_ptr<Engine>> Engine::Create(std::unique_ptr<ModelRunner> runner,
                                                 const Tokenizer* tokenizer,
                                                 const EngineConfig& config) {
  if (runner == nullptr) return InvalidArgumentError("engine: no model runner");
  if (config.max_batched_tokens < 1) return InvalidArgumentError("engine: max_batched_tokens < 1");
  if (config.max_running < 1) return InvalidArgumentError("engine: max_running < 1");
  if (config.max_waiting < 1) return InvalidArgumentError("engine: max_waiting < 1");
  if (runner->n_kv_blocks() < 1 || runner->block_size() < 1) {
    return InvalidArgumentError("engine: the runner has no KV blocks");
  }
  if (tokenizer != nullptr && tokenizer->n_vocab() > runner->vocab_size()) {
    return InvalidArgumentError("engine: tokenizer vocabulary (" +
                                std::to_string(tokenizer->n_vocab()) +
                                ") larger than the model's (" +
                                std::to_string(runner->vocab_size()) + ")");
  }
  return std::unique_ptr<Engine>(new Engine(std::move(runner), tokenizer, config));
}

Engine::Engine(std::unique_ptr<ModelRunner> runner, const Tokenizer* tokenizer,
               const EngineConfig& config)
    : config_(config),
      runner_(std::move(runner)),
      tokenizer_(tokenizer),
      vocab_size_(runner_->vocab_size()),
      max_context_(runner_->max_context()),
      block_size_(runner_->block_size()),
      n_kv_blocks_(runner_->n_kv_blocks()),
      kv_(KvManagerConfig{runner_->n_kv_blocks(), runner_->block_size(),
                          config.enable_prefix_caching, config.prefix_hash,
                          config.prefix_hash_seed}),
      scheduler_(config, &kv_),
      seed_rng_(std::random_device{}()) {
  stats_.kv_blocks_total = kv_.n_blocks();
}

Status Engine::Validate(const GenerationRequest& request) const {
  const int64_t n_prompt = static_cast<int64_t>(request.prompt.size());
  if (n_prompt == 0) return InvalidArgumentError("the prompt is empty");
  for (TokenId id : request.prompt) {
    if (id < 0 || id >= vocab_size_) {
      return InvalidArgumentError("prompt token id " + std::to_string(id) +
                                  " outside the vocabulary [0, " + std::to_string(vocab_size_) +
                                  ")");
    }
  }
  if (request.stop.max_tokens < 1) return InvalidArgumentError("max_tokens must be at least 1");
  if (request.stop.min_tokens < 0 || request.stop.min_tokens > request.stop.max_tokens) {
    return InvalidArgumentError("min_tokens must be in [0, max_tokens], got " +
                                std::to_string(request.stop.min_tokens));
  }
  if (request.embedding != Pooling::kNone && (runner_->hidden_size() == 0 || request.n != 1)) {
    return InvalidArgumentError(request.n != 1 ? "an embedding request has one choice"
                                               : "this runner gives no hidden states for embeddings");
  }
  if (request.prompt_logprobs < -1 || request.prompt_logprobs > 20) {
    return InvalidArgumentError("prompt_logprobs must be in [0, 20]");
  }
  if (request.n < 1 || request.n > kMaxChoices) {
    return InvalidArgumentError("n must be in [1, " + std::to_string(kMaxChoices) + "], got " +
                                std::to_string(request.n));
  }
  const int64_t n_total = n_prompt + request.stop.max_tokens;
  if (n_total > max_context_) {
    return InvalidArgumentError("prompt (" + std::to_string(n_prompt) + " tokens) + max_tokens (" +
                                std::to_string(request.stop.max_tokens) +
                                ") exceeds the model's context of " +
                                std::to_string(max_context_) + " tokens");
  }
  if (request.grammar != nullptr && tokenizer_ == nullptr) {
    return InvalidArgumentError("constrained decoding (a grammar) needs the model's tokenizer");
  }
  // The last sampled token is never computed, so n_total - 1 tokens need KV.
  const int64_t bs = block_size_;
  const int64_t blocks = (n_total - 1 + bs - 1) / bs;
  if (blocks > n_kv_blocks_) {
    return InvalidArgumentError("the request needs " + std::to_string(blocks) +
                                " KV blocks even alone, the cache has " +
                                std::to_string(n_kv_blocks_) +
                                " (raise --kv-cache-mb or shorten the request)");
  }
  return Status::Ok();
}

void Engine::AddRequest(RequestId id, GenerationRequest request,
                        std::shared_ptr<OutputStream> stream) {
  std::vector<std::shared_ptr<OutputStream>> streams;
  streams.push_back(std::move(stream));
  AddRequest(id, std::move(request), std::move(streams));
}

void Engine::AddRequest(RequestId id, GenerationRequest request,
                        std::vector<std::shared_ptr<OutputStream>> streams) {
  KVS_CHECK(Validate(request).ok()) << "AddRequest without Validate";
  KVS_CHECK_EQ(streams.size(), static_cast<size_t>(request.n)) << "one stream per choice";
  KVS_CHECK(requests_.find(id) == requests_.end()) << "duplicate request id " << id;
  if (!request.sampling.has_seed) {
    request.sampling.seed = seed_rng_();
    request.sampling.has_seed = true;
  }
  stats_.prompt_tokens += static_cast<int64_t>(request.prompt.size());
  GenerationRequest choice_template;
  if (request.n > 1) {
    choice_template = request;
    choice_template.prompt.clear();
  }
  std::shared_ptr<OutputStream> first = streams[0];
  std::shared_ptr<GrammarCache> grammar_cache =
      request.grammar != nullptr ? grammar_caches_.Get(request.grammar) : nullptr;
  auto r = std::make_unique<Request>(id, next_arrival_++, std::move(request), tokenizer_,
                                     std::move(first), grammar_cache);
  if (streams.size() > 1) {
    streams.erase(streams.begin());
    r->SetUnforkedChoices(std::move(streams), std::move(choice_template));
  }
  scheduler_.AddWaiting(r.get());
  requests_.emplace(id, std::move(r));
}

void Engine::Finish(Request& r, FinishReason reason, Status error) {
  StreamDelta d;
  d.finished = true;
  d.finish_reason = reason;
  d.error = std::move(error);
  if (reason == FinishReason::kStop) d.text = r.FlushText();  // text held back for stop strings
  // Choices not forked yet end the same way, with nothing generated.
  for (const std::shared_ptr<OutputStream>& s : r.TakeUnforkedStreams()) {
    StreamDelta c;
    c.finished = true;
    c.finish_reason = reason;
    c.error = d.error;
    c.prompt_tokens = r.n_prompt_tokens();
    c.cached_tokens = std::max(r.n_cached_tokens, 0);
    s->Push(std::move(c));
    stats_.requests_finished++;
  }
  d.prompt_tokens = r.n_prompt_tokens();
  d.cached_tokens = std::max(r.n_cached_tokens, 0);
  d.completion_tokens = r.n_output_tokens();
  r.TransitionTo(reason == FinishReason::kAbort ? RequestState::kAborted
                                                : RequestState::kFinished);
  stats_.requests_finished++;
  r.stream().Push(std::move(d));
}

void Engine::Abort(RequestId id) {
  auto it = requests_.find(id);
  if (it == requests_.end()) return;
  Request& r = *it->second;
  scheduler_.Remove(&r);
  if (importing_.erase(id) != 0) kv_.Free(id);  // a reserved import holds blocks outside the queues
  Finish(r, FinishReason::kAbort);
  requests_.erase(it);
}

void Engine::AbortAll() {
  while (!requests_.empty()) Abort(requests_.begin()->first);
}

void Engine::Pool(Request& r, int start, int n, const float* hidden) {
  const int d = runner_->hidden_size();
  std::vector<double>& pooled = r.pooled();
  // A chunk from position 0 starts over (a preempted request recomputes).
  if (start == 0) pooled.assign(d, 0.0);
  if (r.embedding() == Pooling::kLast) {
    for (int j = 0; j < d; ++j) pooled[j] = hidden[int64_t{n - 1} * d + j];
    return;
  }
  for (int i = 0; i < n; ++i) {
    for (int j = 0; j < d; ++j) pooled[j] += hidden[int64_t{i} * d + j];
  }
}

void Engine::FinishEmbedding(Request& r) {
  std::vector<double>& pooled = r.pooled();
  double norm = 0;
  for (double v : pooled) norm += v * v;
  norm = std::sqrt(norm);
  StreamDelta d;
  d.embedding.resize(pooled.size());
  // Mean pooling's 1/n cancels in the normalization.
  for (size_t j = 0; j < pooled.size(); ++j) d.embedding[j] = static_cast<float>(norm > 0 ? pooled[j] / norm : 0.0);
  d.finished = true;
  d.finish_reason = FinishReason::kStop;
  d.prompt_tokens = r.n_prompt_tokens();
  r.TransitionTo(RequestState::kFinished);
  stats_.requests_finished++;
  r.stream().Push(std::move(d));
}

void Engine::ForkChoices(Request& parent, std::vector<Request*>* out) {
  std::vector<std::shared_ptr<OutputStream>> streams = parent.TakeUnforkedStreams();
  for (size_t i = 0; i < streams.size(); ++i) {
    GenerationRequest g = parent.choice_template();
    g.n = 1;
    g.prompt.assign(parent.prompt().begin(), parent.prompt().end());
    g.sampling.seed += i + 1;
    const RequestId id = streams[i]->id();
    std::shared_ptr<GrammarCache> grammar_cache = g.grammar != nullptr ? grammar_caches_.Get(g.grammar) : nullptr;
    auto child = std::make_unique<Request>(id, parent.arrival(), std::move(g), tokenizer_,
                                           std::move(streams[i]), std::move(grammar_cache));
    KVS_CHECK(kv_.Fork(parent.id(), id).ok()) << "fork of request " << parent.id();
    child->n_computed_tokens = parent.n_computed_tokens;
    child->n_cached_tokens = parent.n_cached_tokens;
    child->TransitionTo(RequestState::kRunning);
    scheduler_.AddRunning(child.get());
    out->push_back(child.get());
    requests_.emplace(id, std::move(child));
  }
}

void Engine::SampleInto(Request& r, std::span<const float> logits) {
  std::span<const uint64_t> allowed;
  if (r.matcher() != nullptr) {
    if (!FillGrammarMask(r)) {
      // Complete with no end token in the vocabulary, or a grammar the
      // vocabulary cannot spell further.
      if (r.matcher()->IsComplete()) {
        Finish(r, FinishReason::kStop);
      } else {
        Finish(r, FinishReason::kError, InternalError("no token of the vocabulary continues the grammar"));
      }
      finished_this_step_.push_back(&r);
      return;
    }
    allowed = r.grammar_mask();
  }
  if (r.n_output_tokens() < r.stop().min_tokens) {
    // Too early to end: no end-of-generation token, no stop token id.
    std::vector<uint64_t>& mask = r.grammar_mask();
    if (r.matcher() == nullptr) mask.assign((static_cast<size_t>(vocab_size_) + 63) / 64, ~uint64_t{0});
    auto clear = [&](TokenId id) { mask[id / 64] &= ~(uint64_t{1} << (id % 64)); };
    if (tokenizer_ != nullptr && !r.stop().ignore_eos) {
      EnsureEndOfGenerationIds();
      for (TokenId id : eog_ids_) clear(id);
    }
    for (TokenId id : r.stop().stop_token_ids) {
      if (id >= 0 && id < vocab_size_) clear(id);
    }
    allowed = mask;
  }
  const SampleResult sample = r.sampler().Sample(logits, r.prompt(), r.output(), allowed);
  if (ProcessToken(r, sample)) finished_this_step_.push_back(&r);
}

void Engine::EnsureEndOfGenerationIds() {
  if (eog_ready_) return;
  eog_ready_ = true;
  for (TokenId id = 0; id < tokenizer_->n_vocab(); ++id) {
    if (tokenizer_->IsEndOfGeneration(id)) eog_ids_.push_back(id);
  }
}

bool Engine::FillGrammarMask(Request& r) {
  if (token_trie_ == nullptr) {
    const Tokenizer& tok = *tokenizer_;
    token_trie_ = std::make_unique<TokenTrie>(vocab_size_, [&](int id) {
      // Control tokens have no bytes and stay out; end-of-generation ones
      // are added below when the grammar is complete.
      return tok.IsEndOfGeneration(id) ? std::string_view() : tok.Piece(-1, id);
    });
    EnsureEndOfGenerationIds();
  }
  std::vector<uint64_t>& mask = r.grammar_mask();
  mask.resize((static_cast<size_t>(vocab_size_) + 63) / 64);
  r.matcher()->FillMask(*token_trie_, mask);
  if (r.matcher()->IsComplete()) {
    for (TokenId id : eog_ids_) mask[id / 64] |= uint64_t{1} << (id % 64);
  }
  for (uint64_t w : mask) {
    if (w != 0) return true;
  }
  return false;
}

bool Engine::ScoresPrompt(Request& r, int start) const {
  return r.prompt_logprobs() >= 0 && !r.prompt_samples_sent() && start < r.n_prompt_tokens();
}

bool Engine::ProcessToken(Request& r, const SampleResult& sample) {
  const TokenId t = sample.id;
  r.AppendToken(t);
  // Under a grammar an end-of-generation token is allowed only once the
  // grammar is complete, and it always ends the request; any other token
  // moves the grammar on (the mask allowed it, so it is accepted).
  const bool grammar_end = r.matcher() != nullptr && tokenizer_->IsEndOfGeneration(t);
  if (r.matcher() != nullptr && !grammar_end) {
    KVS_CHECK(r.matcher()->Accept(tokenizer_->Piece(-1, t))) << "the grammar refused a token its mask allowed";
  }
  stats_.generated_tokens++;
  StreamDelta d;
  d.tokens.push_back(t);
  if (r.wants_logprobs()) d.samples.push_back(sample);
  if (r.prompt_logprobs() >= 0 && !r.prompt_samples_sent()) {
    d.prompt_samples = std::move(r.prompt_samples());
    r.set_prompt_samples_sent();
  }
  const StopConditions& stop = r.stop();
  FinishReason reason = FinishReason::kNone;
  const bool is_eos = grammar_end || (!stop.ignore_eos && tokenizer_ != nullptr &&
                                      tokenizer_->IsEndOfGeneration(t));
  const bool is_stop_id =
      std::find(stop.stop_token_ids.begin(), stop.stop_token_ids.end(), t) !=
      stop.stop_token_ids.end();
  if (is_eos || is_stop_id) {
    // The stop token is reported in the ids but never rendered as text.
    reason = FinishReason::kStop;
    d.text = r.FlushText();
  } else {
    IncrementalDetokenizer::Result res = r.Detokenize(t);
    d.text = std::move(res.text);
    if (res.stopped) {
      reason = FinishReason::kStop;  // text already ends before the stop string
    } else if (r.n_output_tokens() >= stop.max_tokens || r.n_tokens() >= max_context_) {
      reason = FinishReason::kLength;
      d.text += r.FlushText();
    }
  }
  d.prompt_tokens = r.n_prompt_tokens();
  d.cached_tokens = std::max(r.n_cached_tokens, 0);
  d.completion_tokens = r.n_output_tokens();
  if (reason != FinishReason::kNone) {
    d.finished = true;
    d.finish_reason = reason;
    r.TransitionTo(RequestState::kFinished);
    stats_.requests_finished++;
  }
  r.stream().Push(std::move(d));
  return reason != FinishReason::kNone;
}

Status Engine::Step() {
  const SchedulerOutput& out = scheduler_.Schedule();
  stats_.steps++;
  stats_.preemptions += out.n_preempted;
  stats_.prefix_cache_queried_tokens += out.prefix_queried_tokens;
  stats_.prefix_cache_hit_tokens += out.prefix_hit_tokens;
  const int64_t used = kv_.Stats().blocks_used;
  stats_.peak_kv_blocks_used = std::max(stats_.peak_kv_blocks_used, used);
  if (out.scheduled.empty()) return Status::Ok();
  max_step_tokens_ = std::max(max_step_tokens_, out.n_tokens);

  // One flattened batch: rows of a sequence are contiguous, in schedule order.
  batch_.Clear();
  for (const ScheduledRequest& s : out.scheduled) {
    Request* r = s.request;
    const int start = r->n_computed_tokens;
    const bool embeds = r->embedding() != Pooling::kNone;
    const bool samples = !embeds && start + s.n_new_tokens == r->n_tokens();
    batch_.AddSequence(r->tokens().subspan(start, s.n_new_tokens), start, kv_.BlockTable(r->id()),
                       samples, /*want_hidden=*/embeds, /*all_logits=*/ScoresPrompt(*r, start));
  }
  const std::vector<BlockCopy> copies = kv_.TakePendingCopies();
  if (!copies.empty()) runner_->CopyBlocks(copies);
  batch_.ComputeSlots(block_size_);

  StatusOr<const float*> logits = runner_->Run(batch_);
  finished_this_step_.clear();
  if (!logits.ok()) {
    for (const ScheduledRequest& s : out.scheduled) finished_this_step_.push_back(s.request);
    for (Request* r : finished_this_step_) {
      scheduler_.Remove(r);
      Finish(*r, FinishReason::kError, logits.status());
      requests_.erase(r->id());
    }
    return logits.status();
  }

  int64_t row = 0;
  int64_t hidden_row = 0;
  for (const ScheduledRequest& s : out.scheduled) {
    Request* r = s.request;
    const int start = r->n_computed_tokens;
    r->n_computed_tokens += s.n_new_tokens;
    kv_.CommitTokens(r->id(), r->tokens(), r->n_computed_tokens, r->cache_salt());
    if (r->embedding() != Pooling::kNone) {
      Pool(*r, start, s.n_new_tokens, runner_->hidden_states() + hidden_row * runner_->hidden_size());
      hidden_row += s.n_new_tokens;
      if (r->n_computed_tokens == r->n_tokens()) {
        FinishEmbedding(*r);
        finished_this_step_.push_back(r);
      }
      continue;
    }
    if (ScoresPrompt(*r, start)) {
      // A logits row per token: the logprob of each next prompt token.
      if (start == 0) r->prompt_samples().clear();  // recomputed from the start
      for (int i = 0; i < s.n_new_tokens; ++i) {
        const int p = start + i;
        if (p + 1 >= r->n_prompt_tokens()) break;
        SampleResult sample;
        sample.id = r->tokens()[p + 1];
        FillLogprobs(std::span<const float>(*logits + (row + i) * vocab_size_, size_t(vocab_size_)),
                     r->prompt_logprobs(), &sample);
        r->prompt_samples().push_back(std::move(sample));
      }
      row += s.n_new_tokens;
      if (r->n_computed_tokens < r->n_tokens()) continue;
      --row;  // the last row samples
    } else if (r->n_computed_tokens < r->n_tokens()) {
      continue;  // a chunk that does not sample
    }
    std::span<const float> row_logits(*logits + row * vocab_size_, size_t(vocab_size_));
    ++row;
    forked_.clear();
    if (r->has_unforked_choices()) ForkChoices(*r, &forked_);
    for (Request* c : forked_) SampleInto(*c, row_logits);
    SampleInto(*r, row_logits);
  }
  KVS_CHECK_EQ(row, batch_.n_logit_rows()) << "logit rows and sampling requests disagree";
  for (Request* r : finished_this_step_) {
    scheduler_.Remove(r);
    requests_.erase(r->id());
  }
  return Status::Ok();
}

EngineStats Engine::Stats() const {
  EngineStats s = stats_;
  s.requests_running = scheduler_.n_running();
  s.requests_waiting = scheduler_.n_waiting();
  s.kv_blocks_used = kv_.Stats().blocks_used;
  s.kv_tokens_used = kv_.TokensHeld();
  s.kv_block_size = block_size_;
  return s;
}

}  // namespace kvs
