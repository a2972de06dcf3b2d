// SamplingParams: how one request picks its next token. Validated at the
// edge (server, CLI); the sampler assumes valid values.
#pragma once

#include <cstdint>
#include <vector>

#include "base/ids.h"

namespace kvs {

// One OpenAI logit_bias entry: `bias` is added to token `id`'s logit.
struct LogitBias {
  TokenId id;
  float bias;
};

struct SamplingParams {
  float temperature = 1.0f;  // 0: greedy (argmax, lowest id on ties)
  int top_k = 0;             // 0: off
  float top_p = 1.0f;        // 1: off
  float min_p = 0.0f;        // 0: off
  float repetition_penalty = 1.0f;  // 1: off (llama.cpp/CTRL style, over all previous tokens)
  float presence_penalty = 0.0f;    // OpenAI semantics, over generated tokens
  float frequency_penalty = 0.0f;   // OpenAI semantics, over generated tokens
  uint64_t seed = 0;
  bool has_seed = false;  // without a seed the engine draws one
  int top_logprobs = -1;  // -1: no logprobs; 0..20: logprob of the chosen token + top n
  // Added to the logits before the penalties (llama.cpp's order); ids are
  // distinct and inside the vocabulary, biases in [-100, 100].
  std::vector<LogitBias> logit_bias;
};

}  // namespace kvs
