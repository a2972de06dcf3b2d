// GenerationSession: one submitted request, from the engine's OutputStreams
// (one per choice, n > 1 included) to OpenAI response bodies: the whole
// response (non-streaming) or SSE bytes chunk by chunk (streaming, each
// choice's chunks carrying its index). Records the request's latencies and
// finish reason in ServerMetrics exactly once.
//
// Ownership: shares the OutputStream with the engine; borrows the tokenizer
// and the metrics, which must outlive it. Thread-safety: used by one HTTP
// worker thread at a time (the handler, then the stream's content provider).
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "engine/output_stream.h"
#include "server/api_error.h"
#include "server/openai_response.h"
#include "server/server_metrics.h"
#include "server/tool_output.h"
#include "tokenizer/tokenizer.h"

namespace kvs::server {

class GenerationSession {
 public:
  using Clock = std::chrono::steady_clock;

  // Streams come in groups of group_size, one group per prompt (0: one
  // group). last_prompt_tokens[i]: the token before stream i's first
  // generated one (for the leading-space rule of logprob token strings).
  // n_returned: how many of each group's choices the response carries
  // (best_of: the ones with the highest cumulative logprob; non-streaming
  // only); 0: all. Usage counts each group's prompt once.
  GenerationSession(ResponseContext ctx, std::vector<std::shared_ptr<OutputStream>> streams,
                    const Tokenizer* tokenizer, std::vector<TokenId> last_prompt_tokens,
                    bool include_usage, ServerMetrics* metrics, Clock::time_point arrival,
                    int group_size = 0, int n_returned = 0);
  ~GenerationSession();
  GenerationSession(const GenerationSession&) = delete;
  GenerationSession& operator=(const GenerationSession&) = delete;

  // Prompt scoring (completions' echo, vLLM's prompt_logprobs).
  struct EchoOptions {
    bool echo = false;                 // the prompt text starts each choice's text
    std::vector<std::string> texts;    // per group: the prompt as text
    std::vector<TokenId> first_tokens; // per group: the prompt's first token (no logprob)
    bool drop_generated = false;       // max_tokens 0: the one token generated is not shown
    bool prompt_logprobs = false;      // choices carry vLLM's prompt_logprobs
  };
  // Call before the first NextSse/Collect.
  void EnableEcho(EchoOptions options) { echo_ = std::move(options); }

  // Chat with tools: each choice's text is searched for calls in `format`;
  // text that may be a call is held back while streaming. Call before the
  // first NextSse/Collect.
  void EnableToolCalls(ToolCallFormat format);

  // The engine's request ids, one per choice (abort them all).
  std::vector<RequestId> ids() const;
  bool finished() const { return finished_; }

  // Non-streaming: waits until the request ends. An engine error becomes an
  // ApiError (e.g. a request the engine rejected after queueing).
  ApiOr<nlohmann::json> Collect();
  // Collect in steps, for a caller that must not block: absorbs what the
  // streams hold (waiting up to `timeout` for the first delta); true once
  // every choice has ended (or one failed). Then CollectResult, once.
  bool CollectStep(std::chrono::milliseconds timeout);
  ApiOr<nlohmann::json> CollectResult();

  // Every choice's stream tells `listener` when it has new output.
  void SetListener(const std::shared_ptr<StreamListener>& listener);

  // Streaming: the SSE bytes to send now. The first call returns the role
  // chunk at once; later calls wait up to `timeout` for engine output and
  // return "" on timeout. The call that sees the end returns the final
  // chunk, the usage chunk when asked for, and [DONE]; finished() is then
  // true.
  std::string NextSse(std::chrono::milliseconds timeout);

  // The client went away before the end: counts the request as aborted
  // (the caller aborts it in the engine).
  void OnClientGone();

 private:
  struct Choice {
    std::shared_ptr<OutputStream> stream;
    TokenId prev_token;
    std::string text;                    // all text so far
    int text_offset = 0;                 // completions' text_offset of the next token
    std::vector<LogprobToken> logprobs;  // non-streaming only
    double cumulative_logprob = 0;
    int completion_tokens = 0;
    int prompt_tokens = 0;
    int cached_tokens = 0;
    FinishReason finish = FinishReason::kNone;
    bool done = false;
    std::unique_ptr<ToolStreamFilter> tools;  // with EnableToolCalls
    std::vector<SampleResult> prompt_samples;  // prompt tokens 1.. with their logprobs
    bool sent_echo = false;                    // streaming: the echo went out
  };
  // The prompt part of choice i (echo text, logprob entries, vLLM's list).
  std::string EchoText(size_t i) const;
  std::vector<LogprobToken> EchoLogprobs(size_t i) const;
  nlohmann::json PromptLogprobsJson(size_t i) const;

  // The next delta of some unfinished choice (its index in *index), waiting
  // up to `timeout`; nullopt on timeout.
  std::optional<StreamDelta> NextDelta(std::chrono::milliseconds timeout, size_t* index);
  // Folds one delta into choice c; returns its logprob entries.
  std::vector<LogprobToken> Absorb(Choice& c, const StreamDelta& delta);
  bool AllDone() const;
  void Finish(FinishReason reason);

  const ResponseContext ctx_;
  const Tokenizer* const tokenizer_;
  const bool include_usage_;
  ServerMetrics* const metrics_;
  const Clock::time_point arrival_;
  const int group_size_;
  const int n_returned_;

  std::vector<Choice> choices_;
  size_t next_poll_ = 0;  // round-robin start, so no choice starves
  Usage usage_;
  bool sent_role_ = false;
  bool tool_calls_ = false;
  EchoOptions echo_;
  ToolCallFormat tool_format_ = ToolCallFormat::kHermes;
  bool finished_ = false;
  std::optional<Status> collect_error_;  // CollectStep saw an engine error
  bool recorded_finish_ = false;
  bool seen_token_ = false;
  Clock::time_point last_token_time_;
};

}  // namespace kvs::server
