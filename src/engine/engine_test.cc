// Engine tests over the fake runner: results against an independent
// reference under every batching, chunking, caching and preemption regime;
// stop conditions; aborts in every state; errors.
#include "engine/engine.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <set>
#include <string>
#include <vector>

#include "engine/testing_engine_harness.h"

namespace kvs {
namespace {

using testing::EngineHarness;
using testing::FakeEngineOptions;
using testing::Greedy;
using testing::GreedyReference;
using testing::kFakeVocab;
using testing::RandomPrompt;

std::vector<TokenId> Drain(OutputStream& s, StreamDelta* last = nullptr) {
  StreamDelta all = s.WaitAll();
  if (last != nullptr) *last = all;
  return all.tokens;
}

// 32 requests in 4 groups; each group shares a prefix, so prefix hits and
// copy-on-write of partly filled blocks happen.
std::vector<GenerationRequest> Workload() {
  std::vector<GenerationRequest> out;
  for (int i = 0; i < 32; ++i) {
    const int g = i % 4;
    std::vector<TokenId> p = RandomPrompt(10 + 9 * g, 100 + g);
    std::vector<TokenId> own = RandomPrompt(1 + i % 9, 1000 + i);
    p.insert(p.end(), own.begin() + 1, own.end());  // own suffix (may be empty)
    out.push_back(Greedy(std::move(p), 4 + (i * 7) % 13));
  }
  return out;
}

TEST(EngineTest, AloneMatchesReference) {
  for (int i = 0; i < 4; ++i) {
    EngineHarness h({});
    GenerationRequest r = Greedy(RandomPrompt(5 + 11 * i, i), 20);
    const auto want = GreedyReference(r.prompt, 20, kFakeVocab);
    auto s = h.Submit(r);
    h.RunUntilIdle();
    StreamDelta d;
    EXPECT_EQ(Drain(*s, &d), want);
    EXPECT_EQ(d.finish_reason, FinishReason::kLength);
    EXPECT_EQ(d.completion_tokens, 20);
    EXPECT_EQ(d.prompt_tokens, 5 + 11 * i);
  }
}

struct Regime {
  const char* name;
  int max_batched_tokens;
  int n_blocks;
  bool prefix_caching;
  bool chunked;
  int max_running;
  bool expect_preemption;
  bool expect_hits;  // with a huge budget every prompt is admitted before any is cached
};

class BatchingInvarianceTest : public ::testing::TestWithParam<Regime> {};

TEST_P(BatchingInvarianceTest, EveryRequestMatchesReference) {
  const Regime& g = GetParam();
  FakeEngineOptions o;
  o.n_blocks = g.n_blocks;
  o.config.max_batched_tokens = g.max_batched_tokens;
  o.config.enable_prefix_caching = g.prefix_caching;
  o.config.enable_chunked_prefill = g.chunked;
  o.config.max_running = g.max_running;
  EngineHarness h(o);
  std::vector<GenerationRequest> work = Workload();
  std::vector<std::shared_ptr<OutputStream>> streams;
  for (const auto& r : work) streams.push_back(h.Submit(r));
  h.RunUntilIdle();
  for (size_t i = 0; i < work.size(); ++i) {
    const auto want = GreedyReference(work[i].prompt, work[i].stop.max_tokens, kFakeVocab);
    EXPECT_EQ(Drain(*streams[i]), want) << "request " << i;
  }
  const EngineStats st = h.engine().Stats();
  EXPECT_EQ(st.kv_blocks_used, 0) << "blocks leaked";
  EXPECT_EQ(st.requests_finished, 32);
  EXPECT_LE(st.peak_kv_blocks_used, g.n_blocks);
  EXPECT_LE(h.engine().max_step_tokens(), g.max_batched_tokens);
  if (g.expect_preemption) {
    EXPECT_GT(st.preemptions, 0);
  }
  if (g.expect_hits) {
    EXPECT_GT(st.prefix_cache_hit_tokens, 0);
  }
  if (!g.prefix_caching) {
    EXPECT_EQ(st.prefix_cache_hit_tokens, 0);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Regimes, BatchingInvarianceTest,
    ::testing::Values(Regime{"big_batch", 4096, 1024, true, true, 64, false, false},
                      Regime{"one_token_steps", 1, 1024, true, true, 64, false, true},
                      Regime{"chunk7", 7, 1024, true, true, 64, false, true},
                      Regime{"chunk7_no_cache", 7, 1024, false, true, 64, false, false},
                      Regime{"no_chunking", 64, 1024, true, false, 64, false, true},
                      Regime{"max_running_3", 32, 1024, true, true, 3, false, true},
                      Regime{"tight_kv", 64, 24, true, true, 64, true, true},
                      Regime{"tight_kv_no_cache", 64, 24, false, true, 64, true, false},
                      Regime{"tight_kv_chunk5", 5, 20, true, true, 64, true, true}),
    [](const ::testing::TestParamInfo<Regime>& info) { return std::string(info.param.name); });

TEST(EngineTest, StepNeverExceedsBudgetAndDecodersShareStepsWithLongPrompt) {
  FakeEngineOptions o;
  o.config.max_batched_tokens = 16;
  EngineHarness h(o);
  auto a = h.Submit(Greedy(RandomPrompt(3, 1), 30));
  auto b = h.Submit(Greedy(RandomPrompt(4, 2), 30));
  ASSERT_TRUE(h.engine().Step().ok());  // both prompts in one step, one token each
  ASSERT_TRUE(h.engine().Step().ok());
  ASSERT_EQ(a->Next(std::chrono::milliseconds(0))->tokens.size(), 2u);
  ASSERT_EQ(b->Next(std::chrono::milliseconds(0))->tokens.size(), 2u);
  auto long_prompt = h.Submit(Greedy(RandomPrompt(100, 3), 2));
  // While the 100-token prompt is chunked, a and b still get a token per step.
  for (int step = 0; step < 7; ++step) {
    ASSERT_TRUE(h.engine().Step().ok());
    auto da = a->Next(std::chrono::milliseconds(0));
    auto db = b->Next(std::chrono::milliseconds(0));
    ASSERT_TRUE(da.has_value() && db.has_value()) << "step " << step;
    EXPECT_EQ(da->tokens.size(), 1u);
    EXPECT_EQ(db->tokens.size(), 1u);
  }
  h.RunUntilIdle();
  for (int64_t n : h.runner().tokens_per_run()) EXPECT_LE(n, 16);
  EXPECT_EQ(Drain(*long_prompt), GreedyReference(RandomPrompt(100, 3), 2, kFakeVocab));
}

TEST(EngineTest, PriorityThenArrival) {
  FakeEngineOptions o;
  o.config.max_running = 1;
  EngineHarness h(o);
  auto low = h.Submit([] { auto r = Greedy(RandomPrompt(5, 1), 3); r.priority = 5; return r; }());
  auto high1 = h.Submit(Greedy(RandomPrompt(5, 2), 3));
  auto high2 = h.Submit(Greedy(RandomPrompt(5, 3), 3));
  std::vector<OutputStream*> order;
  while (h.engine().HasWork()) {
    ASSERT_TRUE(h.engine().Step().ok());
    for (OutputStream* s : {low.get(), high1.get(), high2.get()}) {
      if (s->finished() && std::find(order.begin(), order.end(), s) == order.end()) {
        order.push_back(s);
      }
    }
  }
  EXPECT_EQ(order, (std::vector<OutputStream*>{high1.get(), high2.get(), low.get()}));
}

TEST(EngineTest, PrefixHitReportedAndReused) {
  EngineHarness h({});
  const auto prompt = RandomPrompt(41, 9);
  auto first = h.Submit(Greedy(prompt, 5));
  h.RunUntilIdle();
  auto second = h.Submit(Greedy(prompt, 5));
  h.RunUntilIdle();
  StreamDelta d1, d2;
  Drain(*first, &d1);
  Drain(*second, &d2);
  EXPECT_EQ(d1.cached_tokens, 0);
  EXPECT_EQ(d2.cached_tokens, 40);  // 10 full blocks of 4
  EXPECT_EQ(d1.tokens, d2.tokens);
  EXPECT_EQ(h.engine().Stats().prefix_cache_hit_tokens, 40);
  EXPECT_EQ(h.engine().Stats().prefix_cache_queried_tokens, 82);
}

TEST(EngineTest, StopTokenIdEndsWithTheToken) {
  EngineHarness h({});
  const auto prompt = RandomPrompt(7, 4);
  const auto ref = GreedyReference(prompt, 20, kFakeVocab);
  GenerationRequest r = Greedy(prompt, 20);
  r.stop.stop_token_ids = {ref[5]};
  auto s = h.Submit(r);
  h.RunUntilIdle();
  StreamDelta d;
  const auto got = Drain(*s, &d);
  const size_t cut = std::find(ref.begin(), ref.end(), ref[5]) - ref.begin();
  EXPECT_EQ(got, std::vector<TokenId>(ref.begin(), ref.begin() + cut + 1));
  EXPECT_EQ(d.finish_reason, FinishReason::kStop);
}

TEST(EngineTest, EosStopsUnlessIgnored) {
  // Find a prompt whose greedy continuation hits EOS (id 2) early.
  std::vector<TokenId> prompt;
  size_t eos_at = 0;
  for (uint32_t seed = 0; prompt.empty(); ++seed) {
    auto p = RandomPrompt(6, 5000 + seed);
    auto ref = GreedyReference(p, 60, kFakeVocab);
    auto it = std::find(ref.begin(), ref.end(), 2);
    if (it != ref.end()) {
      prompt = p;
      eos_at = it - ref.begin();
    }
  }
  EngineHarness h({});
  GenerationRequest stop_at_eos = Greedy(prompt, 60);
  stop_at_eos.stop.ignore_eos = false;
  auto a = h.Submit(stop_at_eos);
  auto b = h.Submit(Greedy(prompt, 60));
  h.RunUntilIdle();
  StreamDelta da, db;
  EXPECT_EQ(Drain(*a, &da).size(), eos_at + 1);
  EXPECT_EQ(da.finish_reason, FinishReason::kStop);
  EXPECT_EQ(Drain(*b, &db).size(), 60u);
  EXPECT_EQ(db.finish_reason, FinishReason::kLength);
}

TEST(EngineTest, StopStringCutsText) {
  EngineHarness h({});
  const Tokenizer& tok = h.tokenizer();
  const auto prompt = RandomPrompt(8, 77);
  const auto ref = GreedyReference(prompt, 40, kFakeVocab);
  // The whole text, as the detokenizer would give it without stops.
  auto plain = h.Submit(Greedy(prompt, 40));
  h.RunUntilIdle();
  StreamDelta full;
  Drain(*plain, &full);
  ASSERT_EQ(full.tokens, ref);
  ASSERT_GT(full.text.size(), 20u);
  // Three ASCII letters from the second half, so no UTF-8 sequence is split.
  size_t at = full.text.size() / 2;
  auto letter = [&](size_t i) { return std::isalpha(static_cast<unsigned char>(full.text[i])); };
  while (at + 3 < full.text.size() && !(letter(at) && letter(at + 1) && letter(at + 2))) ++at;
  ASSERT_LT(at + 3, full.text.size());
  const std::string stop = full.text.substr(at, 3);
  GenerationRequest r = Greedy(prompt, 40);
  r.stop.stop_strings = {stop};
  auto s = h.Submit(r);
  h.RunUntilIdle();
  StreamDelta d;
  Drain(*s, &d);
  EXPECT_EQ(d.finish_reason, FinishReason::kStop);
  EXPECT_EQ(d.text, full.text.substr(0, full.text.find(stop)));
  EXPECT_LT(d.tokens.size(), ref.size());
  (void)tok;
}

TEST(EngineTest, RejectsWhatCouldNeverRun) {
  FakeEngineOptions o;
  o.n_blocks = 10;  // 40 tokens of KV
  o.max_context = 64;
  EngineHarness h(o);
  EXPECT_FALSE(h.engine().Validate(Greedy({}, 4)).ok());
  EXPECT_FALSE(h.engine().Validate(Greedy({1, 600}, 4)).ok());
  EXPECT_FALSE(h.engine().Validate(Greedy({1, 5}, 0)).ok());
  EXPECT_FALSE(h.engine().Validate(Greedy(RandomPrompt(30, 1), 40)).ok());  // > context
  const Status too_big = h.engine().Validate(Greedy(RandomPrompt(30, 1), 12));  // 41 > 40
  EXPECT_FALSE(too_big.ok());
  EXPECT_NE(too_big.message().find("KV blocks"), std::string::npos) << too_big.ToString();
  EXPECT_TRUE(h.engine().Validate(Greedy(RandomPrompt(30, 1), 11)).ok());  // 40 fits
}

TEST(EngineTest, RunnerErrorEndsScheduledRequestsAndFreesBlocks) {
  EngineHarness h({});
  auto a = h.Submit(Greedy(RandomPrompt(9, 1), 5));
  h.runner().FailNextRuns(1);
  EXPECT_FALSE(h.engine().Step().ok());
  StreamDelta d;
  Drain(*a, &d);
  EXPECT_EQ(d.finish_reason, FinishReason::kError);
  EXPECT_FALSE(d.error.ok());
  EXPECT_EQ(h.engine().Stats().kv_blocks_used, 0);
  auto b = h.Submit(Greedy(RandomPrompt(9, 1), 5));  // the engine goes on
  h.RunUntilIdle();
  EXPECT_EQ(Drain(*b), GreedyReference(RandomPrompt(9, 1), 5, kFakeVocab));
}

TEST(EngineTest, SeededSamplingIndependentOfBatchingAndPreemption) {
  auto make = [](int i) {
    GenerationRequest r = Greedy(RandomPrompt(12 + i, 300 + i), 14);
    r.sampling.temperature = 0.9f;
    r.sampling.top_k = 40;
    r.sampling.seed = 1000 + i;
    r.sampling.has_seed = true;
    return r;
  };
  std::vector<std::vector<TokenId>> alone;
  for (int i = 0; i < 12; ++i) {
    EngineHarness h({});
    auto s = h.Submit(make(i));
    h.RunUntilIdle();
    alone.push_back(Drain(*s));
  }
  FakeEngineOptions o;
  o.n_blocks = 12;
  o.config.max_batched_tokens = 9;
  EngineHarness h(o);
  std::vector<std::shared_ptr<OutputStream>> streams;
  for (int i = 0; i < 12; ++i) streams.push_back(h.Submit(make(i)));
  h.RunUntilIdle();
  EXPECT_GT(h.engine().Stats().preemptions, 0);
  for (int i = 0; i < 12; ++i) EXPECT_EQ(Drain(*streams[i]), alone[i]) << "request " << i;
}

// Abort in every state: waiting, mid-prefill (chunked), decoding, preempted,
// finished, unknown. The rest still match the reference and no block leaks.
TEST(EngineTest, AbortInEveryState) {
  FakeEngineOptions o;
  o.n_blocks = 24;
  o.config.max_batched_tokens = 8;
  o.config.max_running = 4;
  EngineHarness h(o);
  std::vector<GenerationRequest> work;
  for (int i = 0; i < 10; ++i) work.push_back(Greedy(RandomPrompt(6 + 5 * i, 40 + i), 12));
  std::vector<std::shared_ptr<OutputStream>> s;
  for (const auto& r : work) s.push_back(h.Submit(r));
  std::vector<bool> aborted(work.size(), false);
  auto abort = [&](Request* r) {
    for (size_t i = 0; i < s.size(); ++i) {
      if (s[i]->id() == r->id()) aborted[i] = true;
    }
    h.engine().Abort(r->id());
  };
  bool did_waiting = false, did_prefill = false, did_decoding = false, did_preempted = false;
  for (int step = 0; h.engine().HasWork() && step < 10000; ++step) {
    const Scheduler& sched = h.engine().scheduler();
    for (Request* r : sched.waiting()) {
      if (!did_waiting && r->n_preemptions == 0 && step > 0) {
        abort(r), did_waiting = true;
        break;
      }
      if (!did_preempted && r->n_preemptions > 0) {
        abort(r), did_preempted = true;
        break;
      }
    }
    for (Request* r : sched.running()) {
      const int left = r->n_tokens() - r->n_computed_tokens;
      if (!did_prefill && r->n_output_tokens() == 0 && r->n_computed_tokens > 0 && left > 1) {
        abort(r), did_prefill = true;
        break;
      }
      if (!did_decoding && r->n_output_tokens() >= 3 && left == 1) {
        abort(r), did_decoding = true;
        break;
      }
    }
    ASSERT_TRUE(h.engine().Step().ok());
    h.engine().kv().CheckInvariants();
  }
  EXPECT_TRUE(did_waiting && did_prefill && did_decoding && did_preempted)
      << did_waiting << did_prefill << did_decoding << did_preempted;
  h.engine().Abort(s[0]->id());  // finished (or aborted): no-op
  h.engine().Abort(12345);        // unknown: no-op
  for (size_t i = 0; i < work.size(); ++i) {
    StreamDelta d;
    const auto got = Drain(*s[i], &d);
    const auto want = GreedyReference(work[i].prompt, 12, kFakeVocab);
    if (aborted[i]) {
      EXPECT_EQ(d.finish_reason, FinishReason::kAbort) << i;
      EXPECT_EQ(got, std::vector<TokenId>(want.begin(), want.begin() + got.size())) << i;
    } else {
      EXPECT_EQ(got, want) << i;
    }
  }
  EXPECT_EQ(h.engine().Stats().kv_blocks_used, 0);
  EXPECT_EQ(h.engine().Stats().requests_finished, 10);
}

}  // namespace
}  // namespace kvs

namespace kvs {
namespace {

using testing::EngineHarness;
using testing::FakeEngineOptions;
using testing::RandomPrompt;

GenerationRequest Sampled(uint64_t seed, int n = 1) {
  GenerationRequest r = testing::Greedy(RandomPrompt(23, 5), 10);
  r.sampling.temperature = 0.9f;
  r.sampling.top_k = 40;
  r.sampling.seed = seed;
  r.sampling.has_seed = true;
  r.n = n;
  return r;
}

std::vector<std::shared_ptr<OutputStream>> SubmitChoices(EngineHarness& h, RequestId first,
                                                         GenerationRequest r) {
  std::vector<std::shared_ptr<OutputStream>> streams;
  for (int i = 0; i < r.n; ++i) streams.push_back(std::make_shared<OutputStream>(first + i));
  KVS_CHECK(h.engine().Validate(r).ok());
  h.engine().AddRequest(first, std::move(r), streams);
  return streams;
}

// n = 8: choice i equals a request of its own seeded seed + i (the fake
// runner's logits depend on the KV as stored: a missing copy-on-write of the
// shared partial block would show), the prompt's 23 tokens are computed once,
// and the blocks are the prompt's 5 full ones plus each choice's own 3.
TEST(EngineChoicesTest, ChoicesShareThePromptAndEqualSeparateRequests) {
  std::vector<std::vector<TokenId>> alone;
  for (int i = 0; i < 8; ++i) {
    EngineHarness h({});
    auto s = h.Submit(Sampled(1000 + i));
    h.RunUntilIdle();
    alone.push_back(s->WaitAll().tokens);
  }
  std::set<std::vector<TokenId>> distinct(alone.begin(), alone.end());
  ASSERT_GT(distinct.size(), 4u) << "the seeds should give different choices";

  FakeEngineOptions o;
  o.config.enable_prefix_caching = false;  // sharing must come from the fork alone
  EngineHarness h(o);
  auto streams = SubmitChoices(h, 100, Sampled(1000, 8));
  h.RunUntilIdle();
  for (int i = 0; i < 8; ++i) {
    const StreamDelta d = streams[i]->WaitAll();
    EXPECT_EQ(d.tokens, alone[i]) << "choice " << i;
    EXPECT_EQ(d.finish_reason, FinishReason::kLength);
    EXPECT_EQ(d.prompt_tokens, 23);
  }
  int64_t computed = 0;
  for (int64_t n : h.runner().tokens_per_run()) computed += n;
  EXPECT_EQ(computed, 23 + 8 * 9);  // the prompt once; 9 decode steps per choice
  EXPECT_EQ(h.engine().Stats().peak_kv_blocks_used, 5 + 8 * 3);
  EXPECT_EQ(h.engine().Stats().kv_blocks_used, 0);
}

TEST(EngineChoicesTest, PreemptedChoicesStillEqualSeparateRequests) {
  std::vector<std::vector<TokenId>> alone;
  for (int i = 0; i < 6; ++i) {
    EngineHarness h({});
    auto s = h.Submit(Sampled(7 + i));
    h.RunUntilIdle();
    alone.push_back(s->WaitAll().tokens);
  }
  FakeEngineOptions o;
  o.n_blocks = 16;  // less than 5 + 6 * 3: choices are preempted and recomputed
  o.config.max_batched_tokens = 8;
  EngineHarness h(o);
  auto streams = SubmitChoices(h, 1, Sampled(7, 6));
  h.RunUntilIdle();
  EXPECT_GT(h.engine().Stats().preemptions, 0);
  for (int i = 0; i < 6; ++i) EXPECT_EQ(streams[i]->WaitAll().tokens, alone[i]) << "choice " << i;
  EXPECT_EQ(h.engine().Stats().kv_blocks_used, 0);
}

TEST(EngineChoicesTest, AbortBeforeAndAfterTheFork) {
  {  // before: every choice's stream ends with abort
    EngineHarness h({});
    auto streams = SubmitChoices(h, 1, Sampled(3, 4));
    h.engine().Abort(1);
    h.RunUntilIdle();
    for (auto& s : streams) EXPECT_EQ(s->WaitAll().finish_reason, FinishReason::kAbort);
  }
  {  // after: the aborted choice ends, the others run to the end
    EngineHarness h({});
    auto streams = SubmitChoices(h, 1, Sampled(3, 4));
    for (int i = 0; i < 3; ++i) ASSERT_TRUE(h.engine().Step().ok());
    h.engine().Abort(3);
    h.RunUntilIdle();
    for (int i = 0; i < 4; ++i) {
      const StreamDelta d = streams[i]->WaitAll();
      EXPECT_EQ(d.finish_reason, i == 2 ? FinishReason::kAbort : FinishReason::kLength) << i;
    }
    EXPECT_EQ(h.engine().Stats().kv_blocks_used, 0);
  }
}

TEST(EngineChoicesTest, ValidateBoundsN) {
  EngineHarness h({});
  GenerationRequest r = Sampled(1, 0);
  EXPECT_FALSE(h.engine().Validate(r).ok());
  r.n = Engine::kMaxChoices + 1;
  EXPECT_FALSE(h.engine().Validate(r).ok());
  r.n = Engine::kMaxChoices;
  EXPECT_TRUE(h.engine().Validate(r).ok());
}

}  // namespace
}  // namespace kvs

namespace kvs {
namespace {

// min_tokens: EOS (boosted to always win) and stop ids cannot come before
// min_tokens new tokens; right after, they end the request at once.
TEST(EngineMinTokensTest, EndTokensWaitForMinTokens) {
  for (const bool stop_id : {false, true}) {
    for (const int min_tokens : {0, 1, 5}) {
      testing::EngineHarness h({});
      GenerationRequest r = testing::Greedy(testing::RandomPrompt(9, 3), 20);
      r.stop.ignore_eos = false;
      const TokenId end = stop_id ? 300 : h.tokenizer().eos_id();
      r.sampling.logit_bias = {{end, 100.0f}};
      if (stop_id) r.stop.stop_token_ids = {end};
      r.stop.min_tokens = min_tokens;
      auto s = h.Submit(r);
      h.RunUntilIdle();
      const StreamDelta d = s->WaitAll();
      ASSERT_EQ(d.finish_reason, FinishReason::kStop) << stop_id << " " << min_tokens;
      ASSERT_EQ(static_cast<int>(d.tokens.size()), min_tokens + 1) << stop_id << " " << min_tokens;
      for (int i = 0; i < min_tokens; ++i) EXPECT_NE(d.tokens[i], end);
      EXPECT_EQ(d.tokens.back(), end);
    }
  }
}

}  // namespace
}  // namespace kvs
