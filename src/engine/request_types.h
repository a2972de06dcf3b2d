// What callers hand the engine and what it hands back, per request.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "base/ids.h"
#include "base/status.h"
#include "grammar/grammar.h"
#include "sampling/sampler.h"
#include "sampling/sampling_params.h"
#include "tokenizer/vocab.h"

namespace kvs {

enum class FinishReason { kNone, kStop, kLength, kAbort, kError };
const char* FinishReasonName(FinishReason r);  // "stop", "length", "abort", "error"

struct StopConditions {
  int max_tokens = 16;                    // new tokens at most
  std::vector<TokenId> stop_token_ids;    // besides EOS
  std::vector<std::string> stop_strings;  // text ends before the stop string
  bool ignore_eos = false;
  // End-of-generation and stop_token_ids cannot be sampled before this many
  // new tokens (vLLM's min_tokens; stop strings still apply).
  int min_tokens = 0;
  // The text released at a stop string ends with it (vLLM's
  // include_stop_str_in_output) rather than before it.
  bool include_stop_str_in_output = false;
};

struct GenerationRequest {
  std::vector<TokenId> prompt;  // BOS included where the model wants it
  SamplingParams sampling;
  StopConditions stop;
  int priority = 0;        // lower value runs first; FCFS within a priority
  std::string cache_salt;  // tenant isolation for the prefix cache
  // Choices sampled from one computation of the prompt (OpenAI's n): at
  // the first sample the request forks, its children sharing every prompt
  // block (copy-on-write on the last, partial one). Choice i draws with
  // seed + i and streams on its own stream (EngineLoop::SubmitChoices).
  int n = 1;
  // Constrained decoding: the output must follow this grammar (each step
  // samples among the tokens it allows; an end-of-generation token only
  // once it is complete, and then it ends the request even with
  // ignore_eos). Null: unconstrained. Shared, immutable.
  std::shared_ptr<const Grammar> grammar;
};

// One message on a request's output stream. The last one has finished = true.
struct StreamDelta {
  std::vector<TokenId> tokens;        // new token ids
  std::string text;                   // new text: whole UTF-8, stop strings held back
  std::vector<SampleResult> samples;  // per new token, when logprobs were asked for
  bool finished = false;
  FinishReason finish_reason = FinishReason::kNone;
  Status error;  // set when finish_reason == kError (e.g. rejected up front)
  // Counts, valid on every delta.
  int prompt_tokens = 0;
  int cached_tokens = 0;  // prompt tokens served from the prefix cache (first schedule)
  int completion_tokens = 0;
};

}  // namespace kvs
