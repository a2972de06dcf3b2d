// Engine's import path (engine_import.cc) over the fake runner: blocks are
// reserved only when free, a committed import decodes from its last prompt
// token, and cancelling or aborting a reserved import gives every block back.
#include <gtest/gtest.h>

#include "engine/testing_engine_harness.h"

namespace kvs::testing {
namespace {

FakeEngineOptions Small(int n_blocks) {
  FakeEngineOptions o;
  o.block_size = 4;
  o.n_blocks = n_blocks;
  return o;
}

TEST(EngineImportTest, ReservesBlocksForAllButTheLastPromptToken) {
  EngineHarness h(Small(64));
  const int free0 = h.engine().kv().n_free_blocks();
  auto stream = std::make_shared<OutputStream>(5);
  auto plan = h.engine().ReserveImport(5, Greedy(RandomPrompt(11, 1), 3), stream);
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  EXPECT_EQ(plan->n_import_tokens, 10);
  EXPECT_EQ(plan->n_cached_tokens, 0);
  EXPECT_EQ(plan->blocks.size(), 3u);  // 10 tokens in blocks of 4
  EXPECT_EQ(h.engine().kv().n_free_blocks(), free0 - 3);
  EXPECT_FALSE(h.engine().HasWork()) << "not scheduled before it lands";
  // The prefill engine's KV for prompt[0, 10) lands in the reserved blocks.
  const std::vector<TokenId> prompt = RandomPrompt(11, 1);
  uint64_t state = kFakeRootState;
  for (int i = 0; i < 10; ++i) {
    state = FakeState(state, prompt[i], i);
    h.runner().WriteSlot(plan->blocks[i / 4], i % 4, state);
  }
  h.engine().CommitImport(5);
  // One step computes the last prompt token and samples; 3 outputs in 3 steps.
  EXPECT_EQ(h.RunUntilIdle(), 3);
  const StreamDelta d = stream->WaitAll();
  EXPECT_EQ(d.tokens, GreedyReference(prompt, 3, kFakeVocab));
  EXPECT_EQ(h.runner().tokens_per_run().front(), 1) << "only the last prompt token is computed";
  EXPECT_EQ(d.finish_reason, FinishReason::kLength);
  EXPECT_EQ(h.engine().kv().n_free_blocks(), free0);
}

TEST(EngineImportTest, NoRoomChangesNothingAndCancelGivesEveryBlockBack) {
  EngineHarness h(Small(4));
  const int free0 = h.engine().kv().n_free_blocks();
  auto a = h.engine().ReserveImport(1, Greedy(RandomPrompt(13, 2), 2),
                                    std::make_shared<OutputStream>(1));
  ASSERT_TRUE(a.ok());  // 12 tokens: 3 of the 4 blocks
  auto s2 = std::make_shared<OutputStream>(2);
  auto b = h.engine().ReserveImport(2, Greedy(RandomPrompt(9, 3), 2), s2);
  EXPECT_EQ(b.status().code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(h.engine().kv().n_free_blocks(), free0 - 3);
  EXPECT_FALSE(s2->finished()) << "the caller keeps the request and retries";
  auto s3 = std::make_shared<OutputStream>(3);
  h.engine().CancelImport(1, UnavailableError("link lost"));
  EXPECT_EQ(h.engine().kv().n_free_blocks(), free0);
  h.engine().kv().CheckInvariants();
  // Abort of a reserved import frees its blocks too.
  ASSERT_TRUE(h.engine().ReserveImport(3, Greedy(RandomPrompt(9, 3), 2), s3).ok());
  EXPECT_LT(h.engine().kv().n_free_blocks(), free0);
  h.engine().Abort(3);
  EXPECT_EQ(h.engine().kv().n_free_blocks(), free0);
  EXPECT_EQ(s3->WaitAll().finish_reason, FinishReason::kAbort);
  EXPECT_EQ(h.engine().n_importing(), 0);
}

TEST(EngineImportTest, CancelEndsTheStreamWithTheError) {
  EngineHarness h(Small(16));
  auto s = std::make_shared<OutputStream>(1);
  ASSERT_TRUE(h.engine().ReserveImport(1, Greedy(RandomPrompt(6, 4), 2), s).ok());
  h.engine().CancelImport(1, UnavailableError("prefill engine failed the request: boom"));
  const StreamDelta d = s->WaitAll();
  EXPECT_EQ(d.finish_reason, FinishReason::kError);
  EXPECT_NE(d.error.message().find("boom"), std::string::npos);
}

TEST(EngineImportTest, RefusesWhatAnImportCannotCarry) {
  EngineHarness h(Small(16));
  GenerationRequest r = Greedy(RandomPrompt(6, 5), 2);
  r.n = 2;
  EXPECT_EQ(h.engine().ReserveImport(1, r, std::make_shared<OutputStream>(1)).status().code(),
            StatusCode::kInvalidArgument);
  GenerationRequest empty = Greedy({}, 2);
  EXPECT_FALSE(h.engine().ReserveImport(2, empty, std::make_shared<OutputStream>(2)).ok());
  EXPECT_EQ(h.engine().kv().n_free_blocks(), h.engine().kv().n_blocks());
}

}  // namespace
}  // namespace kvs::testing
