#include "engine/request.h"

#include <utility>

#include "base/check.h"

namespace kvs {

const char* RequestStateName(RequestState s) {
  switch (s) {
    case RequestState::kWaiting: return "waiting";
    case RequestState::kRunning: return "running";
    case RequestState::kPreempted: return "preempted";
    case RequestState::kFinished: return "finished";
    case RequestState::kAborted: return "aborted";
  }
  return "?";
}

Request::Request(RequestId id, int64_t arrival, GenerationRequest request,
                 const Tokenizer* tokenizer, std::shared_ptr<OutputStream> stream,
                 std::shared_ptr<GrammarCache> grammar_cache)
    : id_(id),
      arrival_(arrival),
      priority_(request.priority),
      cache_salt_(std::move(request.cache_salt)),
      stop_(std::move(request.stop)),
      wants_logprobs_(request.sampling.top_logprobs >= 0),
      n_prompt_tokens_(static_cast<int>(request.prompt.size())),
      sampler_(request.sampling),
      embedding_(request.embedding),
      prompt_logprobs_(request.prompt_logprobs),
      stream_(std::move(stream)) {
  if (request.grammar != nullptr) {
    if (grammar_cache == nullptr) grammar_cache = std::make_shared<GrammarCache>(std::move(request.grammar));
    matcher_ = std::make_unique<GrammarMatcher>(std::move(grammar_cache));
  }
  KVS_CHECK(!request.prompt.empty()) << "the engine validates prompts before building requests";
  // Reserve once so that decoding never reallocates the token list.
  tokens_.reserve(request.prompt.size() + static_cast<size_t>(stop_.max_tokens));
  tokens_.assign(request.prompt.begin(), request.prompt.end());
  if (tokenizer != nullptr) {
    detokenizer_ = std::make_unique<IncrementalDetokenizer>(
        tokenizer, tokens_.back(), stop_.stop_strings, stop_.include_stop_str_in_output);
  }
}

void Request::TransitionTo(RequestState next) {
  bool ok = false;
  switch (state_) {
    case RequestState::kWaiting:
    case RequestState::kPreempted:
      ok = next == RequestState::kRunning || next == RequestState::kAborted ||
           next == RequestState::kFinished;  // kFinished: a step error before it ran
      break;
    case RequestState::kRunning:
      ok = next == RequestState::kPreempted || next == RequestState::kFinished ||
           next == RequestState::kAborted;
      break;
    case RequestState::kFinished:
    case RequestState::kAborted:
      ok = false;
      break;
  }
  KVS_CHECK(ok) << "request " << id_ << ": illegal transition " << RequestStateName(state_)
                << " -> " << RequestStateName(next);
  state_ = next;
}

void Request::AppendToken(TokenId id) {
  KVS_CHECK_LT(n_output_tokens(), stop_.max_tokens) << "request " << id_ << " past max_tokens";
  tokens_.push_back(id);
}

IncrementalDetokenizer::Result Request::Detokenize(TokenId id) {
  if (detokenizer_ == nullptr) return {};
  return detokenizer_->Add(id);
}

std::string Request::FlushText() {
  if (detokenizer_ == nullptr) return {};
  return detokenizer_->Flush();
}

}  // namespace kvs
