// Sampler: picks one request's next token from its logits.
//
// One per request, owned by the engine thread, not thread-safe. Holds its own
// seeded RNG, so a request's samples do not depend on other requests. Keeps
// scratch buffers across calls: no allocation per token once warmed up.
//
// Order of transforms (as llama.cpp's default chain): penalties, then
// temperature == 0 -> argmax; else top-k, top-p, min-p on the softmax of
// logits / temperature, then a draw.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "sampling/sampling_params.h"
#include "tokenizer/vocab.h"

namespace kvs {

struct TokenLogprob {
  TokenId id;
  float logprob;
};

struct SampleResult {
  TokenId id;
  float logprob = 0;                // of the chosen token, log_softmax of raw logits
  std::vector<TokenLogprob> top;    // top_logprobs entries, best first
};

class Sampler {
 public:
  explicit Sampler(const SamplingParams& params);

  // logits [n_vocab] (read only). prompt and generated are the ids so far
  // (for penalties).
  SampleResult Sample(std::span<const float> logits, std::span<const TokenId> prompt,
                      std::span<const TokenId> generated);

 private:
  // (implementation)
};

}  // namespace kvs
