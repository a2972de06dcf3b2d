#include "sampling/sampler.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <ctime>
#include <map>
#include <set>

namespace kvs {
namespace {

const std::vector<TokenId> kNone;

SamplingParams Params(float temperature, uint64_t seed = 7) {
  SamplingParams p;
  p.temperature = temperature;
  p.seed = seed;
  p.has_seed = true;
  return p;
}

std::vector<TokenId> Draws(const SamplingParams& p, const std::vector<float>& logits, int n) {
  Sampler s(p);
  std::vector<TokenId> out;
  for (int i = 0; i < n; ++i) out.push_back(s.Sample(logits, kNone, kNone).id);
  return out;
}

TEST(RngTest, MatchesReferenceXoshiro256StarStar) {
  // From an independent (Python) implementation of splitmix64 + xoshiro256**.
  Rng r(0);
  EXPECT_EQ(r.Next(), 0x99ec5f36cb75f2b4ull);
  EXPECT_EQ(r.Next(), 0xbf6e1f784956452aull);
  EXPECT_EQ(r.Next(), 0x1a5f849d4933e6e0ull);
  Rng r2(12345);
  EXPECT_EQ(r2.Next(), 0xbe6a36374160d49bull);
  EXPECT_EQ(r2.Next(), 0x214aaa0637a688c6ull);
  for (int i = 0; i < 1000; ++i) {
    const double u = r.NextDouble();
    ASSERT_GE(u, 0.0);
    ASSERT_LT(u, 1.0);
  }
}

TEST(SamplerTest, GreedyIsArgmaxLowestIdOnTies) {
  Sampler s(Params(0));
  EXPECT_EQ(s.Sample(std::vector<float>{0.1f, 2.0f, -1.0f, 1.9f}, kNone, kNone).id, 1);
  EXPECT_EQ(s.Sample(std::vector<float>{0.1f, 3.0f, 3.0f, 3.0f}, kNone, kNone).id, 1);
  EXPECT_EQ(s.Sample(std::vector<float>{5.0f, 5.0f}, kNone, kNone).id, 0);
  EXPECT_EQ(s.Sample(std::vector<float>{-3.0f, -2.0f, -2.0f}, kNone, kNone).id, 1);
}

TEST(SamplerTest, SameSeedSameSequenceDifferentSeedDiffers) {
  const std::vector<float> logits = {1.0f, 1.2f, 0.8f, 1.1f, 0.9f, 1.0f, 1.05f, 0.95f};
  const auto a = Draws(Params(1.0f, 42), logits, 64);
  const auto b = Draws(Params(1.0f, 42), logits, 64);
  const auto c = Draws(Params(1.0f, 43), logits, 64);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
  EXPECT_GT(std::set<TokenId>(a.begin(), a.end()).size(), 4u);  // really sampling
}

// Frequencies over many draws match softmax(logits / T): a chi-square test
// with a fixed seed (deterministic), 5 categories, 4 degrees of freedom.
TEST(SamplerTest, FrequenciesMatchSoftmax) {
  const std::vector<float> logits = {2.0f, 1.0f, 0.5f, 0.0f, -1.0f};
  for (float temp : {1.0f, 0.5f, 2.0f}) {
    SCOPED_TRACE(temp);
    const int n = 20000;
    std::vector<int> counts(logits.size(), 0);
    for (TokenId id : Draws(Params(temp, 1234), logits, n)) ++counts[id];
    double z = 0;
    for (float l : logits) z += std::exp(l / temp);
    double chi2 = 0;
    for (size_t i = 0; i < logits.size(); ++i) {
      const double expected = n * std::exp(logits[i] / temp) / z;
      chi2 += (counts[i] - expected) * (counts[i] - expected) / expected;
    }
    EXPECT_LT(chi2, 18.47);  // p = 0.001 for 4 dof
  }
}

TEST(SamplerTest, TopKExcludesTheRest) {
  const std::vector<float> logits = {1.0f, 3.0f, 0.0f, 2.9f, 2.8f, 2.95f};
  SamplingParams p = Params(5.0f);  // hot: without top-k every token shows up
  p.top_k = 2;
  const auto draws = Draws(p, logits, 500);
  EXPECT_EQ(std::set<TokenId>(draws.begin(), draws.end()), (std::set<TokenId>{1, 5}));
  p.top_k = 0;
  const auto all = Draws(p, logits, 500);
  EXPECT_EQ(std::set<TokenId>(all.begin(), all.end()).size(), logits.size());
}

TEST(SamplerTest, TopPKeepsTheNucleus) {
  // Probabilities 0.5, 0.25, 0.125, 0.0625, 0.0625 (as logits of log p).
  const std::vector<float> logits = {std::log(0.0625f), std::log(0.5f), std::log(0.125f),
                                     std::log(0.25f), std::log(0.0625f)};
  SamplingParams p = Params(1.0f);
  p.top_p = 0.8f;  // 0.5 + 0.25 = 0.75 < 0.8: the 0.125 token is needed too
  auto draws = Draws(p, logits, 1000);
  EXPECT_EQ(std::set<TokenId>(draws.begin(), draws.end()), (std::set<TokenId>{1, 2, 3}));
  p.top_p = 0.1f;  // less than the top token alone: keep at least one
  draws = Draws(p, logits, 100);
  EXPECT_EQ(std::set<TokenId>(draws.begin(), draws.end()), (std::set<TokenId>{1}));
}

TEST(SamplerTest, TopPOnLargeVocabSortsOnlyWhatItNeeds) {
  // 5000 tokens; 3 stand out; the nucleus must hold exactly them.
  std::vector<float> logits(5000, 0.0f);
  logits[4321] = 12.0f;
  logits[17] = 12.0f;
  logits[2500] = 11.5f;
  SamplingParams p = Params(1.0f);
  p.top_p = 0.9f;
  auto draws = Draws(p, logits, 300);
  EXPECT_EQ(std::set<TokenId>(draws.begin(), draws.end()), (std::set<TokenId>{17, 2500, 4321}));
}

TEST(SamplerTest, MinPIsRelativeToTheTopProbability) {
  // p ~ {0.6, 0.25, 0.1, 0.05}: min_p 0.3 keeps p >= 0.18: ids 0 and 1.
  const std::vector<float> logits = {std::log(0.6f), std::log(0.25f), std::log(0.1f),
                                     std::log(0.05f)};
  SamplingParams p = Params(1.0f);
  p.min_p = 0.3f;
  auto draws = Draws(p, logits, 1000);
  EXPECT_EQ(std::set<TokenId>(draws.begin(), draws.end()), (std::set<TokenId>{0, 1}));
  p.min_p = 0.1f;  // keeps p >= 0.06: ids 0, 1, 2
  draws = Draws(p, logits, 2000);
  EXPECT_EQ(std::set<TokenId>(draws.begin(), draws.end()), (std::set<TokenId>{0, 1, 2}));
  p.top_p = 0.7f;  // with top-p first: {0, 1} survive, then min-p keeps both
  draws = Draws(p, logits, 1000);
  EXPECT_EQ(std::set<TokenId>(draws.begin(), draws.end()), (std::set<TokenId>{0, 1}));
}

TEST(SamplerTest, RepetitionPenaltyDividesPositiveMultipliesNegative) {
  SamplingParams p = Params(0);
  p.repetition_penalty = 2.0f;
  Sampler s(p);
  // 3.0 seen -> 1.5 < 2.0.
  EXPECT_EQ(s.Sample(std::vector<float>{3.0f, 2.0f, 0.0f}, std::vector<TokenId>{0}, kNone).id, 1);
  // Negative: -1 seen -> -2 < -1.5; a repeat in the list is penalised once.
  EXPECT_EQ(
      s.Sample(std::vector<float>{-1.0f, -1.5f, -9.0f}, std::vector<TokenId>{0, 0, 0}, kNone).id,
      1);
  // Generated ids count too; once only: 3.9 / 2 = 1.95 > 1.9.
  EXPECT_EQ(s.Sample(std::vector<float>{3.9f, 1.9f}, kNone, std::vector<TokenId>{0, 0}).id, 0);
  // Without the penalty the same logits pick id 0.
  EXPECT_EQ(Sampler(Params(0))
                .Sample(std::vector<float>{3.0f, 2.0f, 0.0f}, std::vector<TokenId>{0}, kNone)
                .id,
            0);
}

TEST(SamplerTest, PresenceAndFrequencyPenaltiesOverGeneratedOnly) {
  const std::vector<float> logits = {3.0f, 2.0f, 1.5f};
  SamplingParams p = Params(0);
  p.presence_penalty = 1.5f;
  Sampler presence(p);
  EXPECT_EQ(presence.Sample(logits, kNone, std::vector<TokenId>{0}).id, 1);     // 3 - 1.5
  EXPECT_EQ(presence.Sample(logits, std::vector<TokenId>{0}, kNone).id, 0);     // prompt: no
  EXPECT_EQ(presence.Sample(logits, kNone, std::vector<TokenId>{0, 1}).id, 0);  // 1.5,.5,1.5

  p = Params(0);
  p.frequency_penalty = 0.4f;
  Sampler frequency(p);
  EXPECT_EQ(frequency.Sample(logits, kNone, std::vector<TokenId>{0, 0}).id, 0);     // 2.2
  EXPECT_EQ(frequency.Sample(logits, kNone, std::vector<TokenId>{0, 0, 0}).id, 1);  // 1.8
  // Counts are per call: a fresh call without history is unpenalised.
  EXPECT_EQ(frequency.Sample(logits, kNone, kNone).id, 0);
}

TEST(SamplerTest, LogitBiasAddsBeforePenaltiesAndLeavesLogprobsRaw) {
  const std::vector<float> logits = {3.0f, 2.0f, 1.0f};
  SamplingParams p = Params(0);
  p.logit_bias = {{2, 2.5f}};  // 1.0 + 2.5 = 3.5 beats 3.0
  EXPECT_EQ(Sampler(p).Sample(logits, kNone, kNone).id, 2);
  p.logit_bias = {{0, -100.0f}};  // banned: the next best wins
  EXPECT_EQ(Sampler(p).Sample(logits, kNone, kNone).id, 1);
  // Before the repetition penalty: (1 + 5) / 2 = 3 ties 3.0, the lower id wins;
  // applied after it, 1 / 2 + 5 = 5.5 would win.
  p.logit_bias = {{2, 5.0f}};
  p.repetition_penalty = 2.0f;
  EXPECT_EQ(Sampler(p).Sample(logits, std::vector<TokenId>{2}, kNone).id, 0);
  // Sampling: +100 is an exclusive choice whatever the seed.
  SamplingParams hot = Params(1.0f);
  hot.logit_bias = {{1, 100.0f}};
  for (TokenId id : Draws(hot, logits, 50)) EXPECT_EQ(id, 1);
  // Logprobs stay the model's own: token 2's is log_softmax of the raw logits.
  p = Params(0);
  p.top_logprobs = 0;
  p.logit_bias = {{2, 10.0f}};
  const SampleResult r = Sampler(p).Sample(logits, kNone, kNone);
  EXPECT_EQ(r.id, 2);
  const double z = std::log(std::exp(3.0) + std::exp(2.0) + std::exp(1.0));
  EXPECT_NEAR(r.logprob, 1.0 - z, 1e-5);
}

TEST(SamplerTest, TheMaskWinsOverBiasAndEveryFilter) {
  // 130 tokens (three mask words); only 5 and 129 allowed.
  std::vector<float> logits(130, 0.0f);
  logits[0] = 50.0f;
  logits[5] = -3.0f;
  logits[129] = -2.0f;
  std::vector<uint64_t> allowed(3, 0);
  allowed[0] |= uint64_t{1} << 5;
  allowed[2] |= uint64_t{1} << (129 - 128);
  SamplingParams p = Params(0);
  p.logit_bias = {{0, 100.0f}};
  EXPECT_EQ(Sampler(p).Sample(logits, kNone, kNone, allowed).id, 129);
  for (const auto& [top_k, top_p] : {std::pair{0, 1.0f}, std::pair{1, 1.0f}, std::pair{3, 0.5f}}) {
    SamplingParams hot = Params(2.0f);
    hot.top_k = top_k;
    hot.top_p = top_p;
    hot.logit_bias = {{0, 100.0f}};
    std::set<TokenId> seen;
    Sampler s(hot);
    for (int i = 0; i < 200; ++i) seen.insert(s.Sample(logits, kNone, kNone, allowed).id);
    EXPECT_TRUE(seen.count(129)) << top_k << " " << top_p;
    for (TokenId id : seen) EXPECT_TRUE(id == 5 || id == 129) << id;
  }
  // Without the mask the biased token wins, as before.
  EXPECT_EQ(Sampler(p).Sample(logits, kNone, kNone).id, 0);
}

TEST(SamplerTest, LogprobsAreLogSoftmaxOfRawLogits) {
  const std::vector<float> logits = {1.0f, 3.0f, 2.0f, 3.0f, -1.0f};
  SamplingParams p = Params(0);
  p.top_logprobs = 3;
  p.repetition_penalty = 10.0f;  // changes the choice, not the logprobs
  Sampler s(p);
  const SampleResult r = s.Sample(logits, std::vector<TokenId>{1, 3}, kNone);
  EXPECT_EQ(r.id, 2);
  double z = 0;
  for (float l : logits) z += std::exp(l);
  EXPECT_NEAR(r.logprob, 2.0 - std::log(z), 1e-5);
  ASSERT_EQ(r.top.size(), 3u);
  EXPECT_EQ(r.top[0].id, 1);  // tie with 3: lower id first
  EXPECT_EQ(r.top[1].id, 3);
  EXPECT_EQ(r.top[2].id, 2);
  EXPECT_NEAR(r.top[0].logprob, 3.0 - std::log(z), 1e-5);

  p.top_logprobs = 5;
  const SampleResult all = Sampler(p).Sample(logits, kNone, kNone);
  double prob_sum = 0;
  for (const TokenLogprob& t : all.top) prob_sum += std::exp(t.logprob);
  EXPECT_NEAR(prob_sum, 1.0, 1e-5);
  for (size_t i = 1; i < all.top.size(); ++i) EXPECT_GE(all.top[i - 1].logprob, all.top[i].logprob);

  p.top_logprobs = -1;
  const SampleResult none = Sampler(p).Sample(logits, kNone, kNone);
  EXPECT_TRUE(none.top.empty());
  EXPECT_EQ(none.logprob, 0.0f);
}

}  // namespace
}  // namespace kvs

namespace kvs {
namespace {

// Timing on a Llama-sized vocab, printed for docs/design.md; the bound is
// loose (a sorted 32k vocab per token would still pass; a quadratic bug not).
TEST(SamplerTest, SamplingA32kVocabIsCheap) {
  std::vector<float> logits(32000);
  Rng r(3);
  for (float& l : logits) l = static_cast<float>(r.NextDouble() * 8.0 - 4.0);
  std::vector<TokenId> history;
  for (int i = 0; i < 256; ++i) history.push_back(static_cast<TokenId>(r.Next() % 32000));
  struct Case {
    const char* name;
    SamplingParams p;
  } cases[4];
  cases[0] = {"greedy", Params(0)};
  cases[1] = {"temperature 0.8", Params(0.8f)};
  cases[2] = {"t0.8 top_p 0.95 min_p 0.05 rep 1.1", Params(0.8f)};
  cases[2].p.top_p = 0.95f;
  cases[2].p.min_p = 0.05f;
  cases[2].p.repetition_penalty = 1.1f;
  cases[3] = {"t0.8 top_k 40 top_logprobs 5", Params(0.8f)};
  cases[3].p.top_k = 40;
  cases[3].p.top_logprobs = 5;
  for (const Case& c : cases) {
    Sampler s(c.p);
    const int n = 200;
    s.Sample(logits, history, history);  // warm-up: scratch buffers
    // Thread CPU time: the test machine is shared, wall time is noisy.
    const std::clock_t t0 = std::clock();
    for (int i = 0; i < n; ++i) s.Sample(logits, history, history);
    const double us = 1e6 * static_cast<double>(std::clock() - t0) / CLOCKS_PER_SEC / n;
    std::printf("%-40s %8.1f us/token (CPU time)\n", c.name, us);
    EXPECT_LT(us, 20000.0);
  }
}

}  // namespace
}  // namespace kvs
