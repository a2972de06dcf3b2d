// Scheduler tests with the real KV manager and no model: budget splitting,
// chunking, priority, preemption choice.
#include "engine/scheduler.h"

#include <gtest/gtest.h>

#include <memory>
#include <vector>

#include "engine/testing_engine_harness.h"

namespace kvs {
namespace {

class SchedulerTest : public ::testing::Test {
 protected:
  void Init(int n_blocks, int budget, int max_running = 64, bool chunked = true,
            bool caching = true) {
    kv_ = std::make_unique<KvCacheManager>(KvManagerConfig{n_blocks, 4, caching});
    config_.enable_prefix_caching = caching;
    config_.max_batched_tokens = budget;
    config_.max_running = max_running;
    config_.enable_chunked_prefill = chunked;
    sched_ = std::make_unique<Scheduler>(config_, kv_.get());
  }
  Request* Add(int n_prompt, int priority = 0, int max_tokens = 50) {
    return AddPrompt(testing::RandomPrompt(n_prompt, next_id_), priority, max_tokens);
  }
  Request* AddPrompt(std::vector<TokenId> prompt, int priority = 0, int max_tokens = 50) {
    GenerationRequest g = testing::Greedy(std::move(prompt), max_tokens);
    g.priority = priority;
    const RequestId id = next_id_++;
    reqs_.push_back(std::make_unique<Request>(id, id, std::move(g), nullptr,
                                              std::make_shared<OutputStream>(id)));
    sched_->AddWaiting(reqs_.back().get());
    return reqs_.back().get();
  }
  // What the engine does after running the step: commit, and append a token
  // for every request that reached its end.
  std::vector<std::pair<Request*, int>> Step() {
    const SchedulerOutput& out = sched_->Schedule();
    std::vector<std::pair<Request*, int>> got;
    for (const ScheduledRequest& s : out.scheduled) {
      got.push_back({s.request, s.n_new_tokens});
      s.request->n_computed_tokens += s.n_new_tokens;
      kv_->CommitTokens(s.request->id(), s.request->tokens(), s.request->n_computed_tokens, "");
      if (s.request->n_computed_tokens == s.request->n_tokens()) s.request->AppendToken(7);
    }
    kv_->CheckInvariants();
    last_preempted_ = out.n_preempted;
    return got;
  }
  using Sched = std::vector<std::pair<Request*, int>>;

  EngineConfig config_;
  std::unique_ptr<KvCacheManager> kv_;
  std::unique_ptr<Scheduler> sched_;
  std::vector<std::unique_ptr<Request>> reqs_;
  RequestId next_id_ = 1;
  int last_preempted_ = 0;
};

TEST_F(SchedulerTest, BudgetSplitsAcrossRequestsAndChunksPrompts) {
  Init(100, 25);
  Request* a = Add(10);
  Request* b = Add(20);
  Request* c = Add(30);
  EXPECT_EQ(Step(), (Sched{{a, 10}, {b, 15}}));  // b chunked, c waits for budget
  EXPECT_EQ(c->state(), RequestState::kWaiting);
  // a decodes first, then b's rest, then c gets what is left.
  EXPECT_EQ(Step(), (Sched{{a, 1}, {b, 5}, {c, 19}}));
  EXPECT_EQ(Step(), (Sched{{a, 1}, {b, 1}, {c, 11}}));
  EXPECT_EQ(Step(), (Sched{{a, 1}, {b, 1}, {c, 1}}));
}

TEST_F(SchedulerTest, DecodersGoBeforeAnEarlierRequestsPromptChunk) {
  Init(100, 8);
  Request* a = Add(40);
  Request* b = Add(3);
  EXPECT_EQ(Step(), (Sched{{a, 8}}));
  EXPECT_EQ(Step(), (Sched{{a, 8}}));  // b is admitted only when budget is left
  EXPECT_EQ(Step(), (Sched{{a, 8}}));
  EXPECT_EQ(Step(), (Sched{{a, 8}}));
  EXPECT_EQ(Step(), (Sched{{a, 8}}));  // a's prompt done: samples
  EXPECT_EQ(Step(), (Sched{{a, 1}, {b, 3}}));
  EXPECT_EQ(Step(), (Sched{{a, 1}, {b, 1}}));
  Request* c = Add(30);
  // c's chunks share every step with the decoders a and b.
  EXPECT_EQ(Step(), (Sched{{a, 1}, {b, 1}, {c, 6}}));
  EXPECT_EQ(Step(), (Sched{{a, 1}, {b, 1}, {c, 6}}));
}

TEST_F(SchedulerTest, WithoutChunkingAPromptWaitsForRoomForAllOfIt) {
  Init(100, 16, 64, /*chunked=*/false);
  Request* a = Add(10);
  Request* b = Add(10);
  EXPECT_EQ(Step(), (Sched{{a, 10}}));
  EXPECT_EQ(Step(), (Sched{{a, 1}, {b, 10}}));
  Request* big = Add(40);  // longer than the budget: runs when nothing else is scheduled
  EXPECT_EQ(Step(), (Sched{{a, 1}, {b, 1}}));
  EXPECT_EQ(big->state(), RequestState::kWaiting);
}

TEST_F(SchedulerTest, PriorityThenArrivalAndMaxRunning) {
  Init(100, 100, /*max_running=*/2);
  Request* low = Add(4, /*priority=*/3);
  Request* high_late = Add(4, 0);
  Request* mid = Add(4, 1);
  Request* high_later = Add(4, 0);
  EXPECT_EQ(Step(), (Sched{{high_late, 4}, {high_later, 4}}));
  EXPECT_EQ(sched_->n_waiting(), 2);
  EXPECT_EQ(sched_->waiting()[0], mid);
  EXPECT_EQ(sched_->waiting()[1], low);
}

TEST_F(SchedulerTest, PreemptsLowestPriorityThenLatestArrival) {
  // 12 blocks of 4 = 48 tokens.
  Init(12, 100);
  Request* a = Add(8, 0);
  Request* b = Add(8, 2);  // lowest priority
  Request* c = Add(8, 0);  // latest among priority 0
  Step();                  // 3 x 2 blocks
  EXPECT_EQ(kv_->Stats().blocks_used, 6);
  // Decode until someone needs a block and none is left.
  while (last_preempted_ == 0) Step();
  EXPECT_EQ(b->state(), RequestState::kPreempted);
  EXPECT_EQ(b->n_computed_tokens, 0);
  EXPECT_EQ(b->n_preemptions, 1);
  EXPECT_GT(b->n_output_tokens(), 0) << "outputs are kept, to be recomputed";
  EXPECT_EQ(a->state(), RequestState::kRunning);
  EXPECT_EQ(c->state(), RequestState::kRunning);
  last_preempted_ = 0;
  while (last_preempted_ == 0) Step();
  EXPECT_EQ(c->n_preemptions, 1) << "next victim: the latest arrival of priority 0";
  EXPECT_EQ(a->n_preemptions, 0);
  EXPECT_LE(kv_->Stats().blocks_used, 12);
}

TEST_F(SchedulerTest, ResumeAfterPreemptionHitsThePrefixCache) {
  Init(12, 100);
  Request* a = Add(8, 0);
  Request* b = Add(13, 1);
  Step();
  while (last_preempted_ == 0) Step();
  ASSERT_EQ(b->state(), RequestState::kPreempted);
  sched_->Remove(a);  // a finishes: room again
  const SchedulerOutput& out = sched_->Schedule();
  ASSERT_EQ(out.scheduled.size(), 1u);
  EXPECT_EQ(out.scheduled[0].request, b);
  EXPECT_GE(out.prefix_hit_tokens, 12) << "b's full blocks stayed cached";
  EXPECT_EQ(b->n_computed_tokens + out.scheduled[0].n_new_tokens, b->n_tokens());
}

TEST_F(SchedulerTest, RemoveFreesBlocksInEveryState) {
  Init(40, 10, /*max_running=*/1);
  Request* a = Add(30);
  Request* b = Add(5);
  Step();  // a mid-prefill, b waiting
  EXPECT_GT(kv_->Stats().blocks_used, 0);
  sched_->Remove(b);
  sched_->Remove(a);
  EXPECT_EQ(kv_->Stats().blocks_used, 0);
  EXPECT_FALSE(sched_->HasWork());
  sched_->Remove(a);  // twice: no-op
  kv_->CheckInvariants();
}

// Requests sharing a prefix that arrive together: the later one waits for
// the earlier one's blocks instead of computing the same prefix beside it.
TEST_F(SchedulerTest, SharedPrefixWaitsForTheRequestComputingIt) {
  std::vector<TokenId> prefix = testing::RandomPrompt(24, 99);  // 6 blocks of 4
  std::vector<TokenId> pa = prefix, pb = prefix;
  pa.insert(pa.end(), {5, 6, 7});
  pb.insert(pb.end(), {8, 9});
  Init(100, 16);
  Request* a = AddPrompt(pa);
  Request* b = AddPrompt(pb);
  Request* c = Add(5);  // unrelated: not held back
  EXPECT_EQ(Step(), (Sched{{a, 16}}));  // b passed over; budget spent on a
  EXPECT_EQ(Step(), (Sched{{a, 11}, {c, 5}}));  // b still waits: a's blocks 4-5 not yet cached
  EXPECT_EQ(b->state(), RequestState::kWaiting);
  Sched third = Step();  // a's prompt is cached: b takes 24 tokens from it
  EXPECT_EQ(third, (Sched{{a, 1}, {c, 1}, {b, 2}}));
  EXPECT_EQ(b->n_cached_tokens, 24);
}

TEST_F(SchedulerTest, WithoutPrefixCachingNobodyWaits) {
  std::vector<TokenId> prefix = testing::RandomPrompt(24, 99);
  std::vector<TokenId> pa = prefix, pb = prefix;
  pa.push_back(5);
  pb.push_back(8);
  Init(100, 64, 64, true, /*caching=*/false);
  Request* a = AddPrompt(pa);
  Request* b = AddPrompt(pb);
  EXPECT_EQ(Step(), (Sched{{a, 25}, {b, 25}}));
}

}  // namespace
}  // namespace kvs
