#include "sampling/sampler.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "base/check.h"

namespace kvs {
namespace {

// Best first: higher logit, then lower id (deterministic on ties).
bool Better(float a_logit, TokenId a_id, float b_logit, TokenId b_id) {
  return a_logit > b_logit || (a_logit == b_logit && a_id < b_id);
}

}  // namespace

Sampler::Sampler(const SamplingParams& params) : params_(params), rng_(params.seed) {}

SampleResult Sampler::Sample(std::span<const float> logits, std::span<const TokenId> prompt,
                             std::span<const TokenId> generated, std::span<const uint64_t> allowed) {
  KVS_CHECK(!logits.empty()) << "no logits to sample from";
  KVS_CHECK(allowed.empty() || allowed.size() == (logits.size() + 63) / 64) << "mask of the wrong size";
  const std::span<const float> scores = ApplyPenalties(logits, prompt, generated, allowed);
  SampleResult result;
  result.id = params_.temperature <= 0 ? Argmax(scores) : Draw(scores);
  if (params_.top_logprobs >= 0) FillLogprobs(logits, &result);
  return result;
}

std::span<const float> Sampler::ApplyPenalties(std::span<const float> logits,
                                               std::span<const TokenId> prompt,
                                               std::span<const TokenId> generated,
                                               std::span<const uint64_t> allowed) {
  const bool repetition = params_.repetition_penalty != 1.0f;
  const bool openai = params_.presence_penalty != 0.0f || params_.frequency_penalty != 0.0f;
  if (!repetition && !openai && params_.logit_bias.empty() && allowed.empty()) return logits;
  const int n_vocab = static_cast<int>(logits.size());
  work_.assign(logits.begin(), logits.end());
  if (static_cast<int>(counts_.size()) != n_vocab) counts_.assign(n_vocab, 0);
  auto check = [n_vocab](TokenId id) {
    KVS_CHECK(id >= 0 && id < n_vocab) << "token id " << id << " outside vocab " << n_vocab;
  };

  for (const LogitBias& b : params_.logit_bias) {
    check(b.id);
    work_[b.id] += b.bias;
  }

  if (repetition) {
    const float penalty = params_.repetition_penalty;
    // counts_ marks ids already penalised, so each distinct id is hit once.
    for (std::span<const TokenId> ids : {prompt, generated}) {
      for (TokenId id : ids) {
        check(id);
        if (counts_[id] != 0) continue;
        counts_[id] = 1;
        work_[id] = work_[id] > 0 ? work_[id] / penalty : work_[id] * penalty;
      }
    }
    for (std::span<const TokenId> ids : {prompt, generated}) {
      for (TokenId id : ids) counts_[id] = 0;
    }
  }

  if (openai) {
    for (TokenId id : generated) {
      check(id);
      ++counts_[id];
    }
    for (TokenId id : generated) {
      if (counts_[id] == 0) continue;  // already applied
      work_[id] -= params_.presence_penalty + params_.frequency_penalty * counts_[id];
      counts_[id] = 0;
    }
  }

  // The mask last: nothing may bring a masked token back.
  for (size_t w = 0; w < allowed.size(); ++w) {
    if (allowed[w] == ~uint64_t{0}) continue;
    const int end = std::min<int>(n_vocab, static_cast<int>(w + 1) * 64);
    for (int id = static_cast<int>(w) * 64; id < end; ++id) {
      if (!((allowed[w] >> (id % 64)) & 1)) work_[id] = -std::numeric_limits<float>::infinity();
    }
  }
  return work_;
}

TokenId Sampler::Argmax(std::span<const float> scores) {
  TokenId best = 0;
  float best_score = scores[0];
  for (TokenId i = 1; i < static_cast<TokenId>(scores.size()); ++i) {
    if (scores[i] > best_score) {  // strict: the lowest id wins ties
      best_score = scores[i];
      best = i;
    }
  }
  return best;
}

int Sampler::SelectNucleus(int n, double mass) {
  auto better = [](const Candidate& a, const Candidate& b) {
    return Better(a.logit, a.id, b.logit, b.id);
  };
  // Invariant: cand_[0, lo) are the lo best, holding acc < mass; the answer
  // m is in (lo, hi]; cand_[lo, hi) are all better than cand_[hi, n).
  int lo = 0;
  int hi = n;
  double acc = 0;
  while (hi - lo > 1) {
    const int mid = lo + (hi - lo) / 2;
    std::nth_element(cand_.begin() + lo, cand_.begin() + mid, cand_.begin() + hi, better);
    double upper = acc;
    for (int i = lo; i < mid; ++i) upper += cand_[i].p;
    if (upper >= mass) {
      hi = mid;
    } else {
      acc = upper;
      lo = mid;
    }
  }
  return hi;
}

TokenId Sampler::Draw(std::span<const float> scores) {
  const int n_vocab = static_cast<int>(scores.size());
  cand_.resize(n_vocab);
  if (static_cast<int>(kept_p_.size()) != n_vocab) kept_p_.assign(n_vocab, 0.0f);
  for (int i = 0; i < n_vocab; ++i) cand_[i] = {scores[i], i, 0.0f};
  int n = n_vocab;

  if (params_.top_k > 0 && params_.top_k < n) {
    std::nth_element(cand_.begin(), cand_.begin() + (params_.top_k - 1), cand_.end(),
                     [](const Candidate& a, const Candidate& b) {
                       return Better(a.logit, a.id, b.logit, b.id);
                     });
    n = params_.top_k;
  }

  float max_logit = cand_[0].logit;
  for (int i = 1; i < n; ++i) max_logit = std::max(max_logit, cand_[i].logit);
  const float inv_temp = 1.0f / params_.temperature;
  double sum = 0;
  for (int i = 0; i < n; ++i) {
    cand_[i].p = std::exp((cand_[i].logit - max_logit) * inv_temp);
    sum += cand_[i].p;
  }

  if (params_.top_p < 1.0f) n = SelectNucleus(n, params_.top_p * sum);

  // min-p: the top token has p == 1 (unnormalised), so the threshold is
  // min_p itself, and the top token always passes.
  for (int i = 0; i < n; ++i) {
    if (cand_[i].p >= params_.min_p) kept_p_[cand_[i].id] = cand_[i].p;
  }

  // The walk is in id order, independent of how the selection permuted cand_.
  double total = 0;
  for (float p : kept_p_) total += p;
  const double u = rng_.NextDouble() * total;
  double cum = 0;
  TokenId chosen = -1;
  for (TokenId id = 0; id < n_vocab; ++id) {
    if (kept_p_[id] == 0.0f) continue;
    chosen = id;  // the last kept token if rounding leaves u >= cum
    cum += kept_p_[id];
    if (u < cum) break;
  }
  for (int i = 0; i < n; ++i) kept_p_[cand_[i].id] = 0.0f;
  KVS_CHECK(chosen >= 0) << "no token survived the filters";
  return chosen;
}

void Sampler::FillLogprobs(std::span<const float> logits, SampleResult* result) const {
  const int n_vocab = static_cast<int>(logits.size());
  float max_logit = logits[0];
  for (float l : logits) max_logit = std::max(max_logit, l);
  double sum = 0;
  for (float l : logits) sum += std::exp(static_cast<double>(l) - max_logit);
  const double log_z = max_logit + std::log(sum);
  result->logprob = static_cast<float>(logits[result->id] - log_z);

  const int n_top = std::min(params_.top_logprobs, n_vocab);
  if (n_top <= 0) return;
  // Insertion into a best-first list of at most 20: O(n_vocab) in practice.
  std::vector<TokenLogprob>& top = result->top;
  top.reserve(n_top);
  for (TokenId i = 0; i < n_vocab; ++i) {
    const float l = logits[i];
    if (static_cast<int>(top.size()) == n_top && !(l > top.back().logprob)) continue;
    if (static_cast<int>(top.size()) < n_top) top.push_back({i, l});
    int j = static_cast<int>(top.size()) - 1;
    while (j > 0 && l > top[j - 1].logprob) {  // strict: earlier (lower) ids stay first
      top[j] = top[j - 1];
      --j;
    }
    top[j] = {i, l};
  }
  for (TokenLogprob& t : top) t.logprob = static_cast<float>(t.logprob - log_z);
}

}  // namespace kvs
