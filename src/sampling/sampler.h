// Sampler: picks one request's next token from its logits.
//
// One per request, owned by the engine thread, not thread-safe. Holds its own
// seeded RNG, so a request's samples do not depend on other requests. Keeps
// scratch buffers across calls: no allocation per token once warmed up.
//
// Order of transforms (as llama.cpp's default chain): logit_bias, penalties, then
// temperature == 0 -> argmax; else top-k, top-p, min-p on the softmax of
// logits / temperature, then a draw.
//
// Details:
// - Greedy breaks ties by the lowest id; top-k and top-p rank by logit, then
//   lowest id. Every filter keeps at least the most likely token.
// - repetition_penalty applies once per distinct id in prompt + generated
//   (llama.cpp/CTRL: positive logits divided, negative ones multiplied);
//   presence/frequency (OpenAI) over generated only:
//   logit -= presence * (count > 0) + frequency * count.
// - min_p keeps tokens whose probability is >= min_p * the top probability
//   (after top-k/top-p, on the temperature-scaled distribution).
// - Logprobs are the log-softmax of the RAW logits, before penalties and
//   temperature: what the model itself says, comparable across requests with
//   different settings (OpenAI reports the model's distribution likewise).
//   They are computed only when params.top_logprobs >= 0; otherwise
//   SampleResult::logprob is 0 and top is empty.
// - Draws come from Rng (rng.h) seeded with params.seed, one double per
//   sampled token, walked over the kept tokens in id order: the same seed
//   and logits give the same tokens with any standard library (up to float
//   rounding in the top-p mass when a token sits exactly on the boundary).
// - Filters select (nth_element), never sort the vocabulary: O(n_vocab).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "sampling/rng.h"
#include "sampling/sampling_params.h"
#include "tokenizer/vocab.h"

namespace kvs {

struct TokenLogprob {
  TokenId id;
  float logprob;
};

struct SampleResult {
  TokenId id;
  float logprob = 0;              // of the chosen token, log_softmax of raw logits
  std::vector<TokenLogprob> top;  // top_logprobs entries, best first
};

class Sampler {
 public:
  explicit Sampler(const SamplingParams& params);

  // logits [n_vocab] (read only). prompt and generated are the ids so far
  // (for penalties). `allowed`, when not empty, is a bit per token (64 per
  // word, a grammar's mask): only tokens with their bit set can be chosen,
  // after every other transform. REQUIRES: some allowed token.
  SampleResult Sample(std::span<const float> logits, std::span<const TokenId> prompt,
                      std::span<const TokenId> generated, std::span<const uint64_t> allowed = {});

 private:
  struct Candidate {
    float logit;
    TokenId id;
    float p;  // exp((logit - max) / temperature), unnormalised
  };

  // The logits with logit_bias, the penalties and the mask applied:
  // `logits` itself when none is on (no copy), else work_.
  std::span<const float> ApplyPenalties(std::span<const float> logits,
                                        std::span<const TokenId> prompt,
                                        std::span<const TokenId> generated,
                                        std::span<const uint64_t> allowed);
  static TokenId Argmax(std::span<const float> scores);
  // top-k, top-p, min-p, then a draw, over scores / temperature.
  TokenId Draw(std::span<const float> scores);
  // Reorders cand_[0, n) so that its first m entries are the m best, for the
  // smallest m whose probability reaches `mass`; returns m. Expected O(n):
  // repeated nth_element on halving ranges, no full sort.
  int SelectNucleus(int n, double mass);
  void FillLogprobs(std::span<const float> logits, SampleResult* result) const;

  SamplingParams params_;
  Rng rng_;
  std::vector<float> work_;      // [n_vocab]
  std::vector<Candidate> cand_;  // [n_vocab]
  std::vector<float> kept_p_;    // [n_vocab] p of the kept tokens, 0 elsewhere between calls
  std::vector<int32_t> counts_;  // [n_vocab], all zero between calls
};

}  // namespace kvs
