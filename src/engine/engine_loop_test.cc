// EngineLoop: the thread and mailbox, with the fake runner.
#include "engine/engine_loop.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

#include "engine/import_hub.h"
#include "engine/testing_engine_harness.h"

namespace kvs {
namespace {

using testing::FakeModelRunner;
using testing::Greedy;
using testing::GreedyReference;
using testing::kFakeVocab;
using testing::RandomPrompt;

std::unique_ptr<EngineLoop> MakeLoop(const Tokenizer* tok, int n_blocks = 256,
                                     std::chrono::microseconds step_delay = {}) {
  auto runner = std::make_unique<FakeModelRunner>(kFakeVocab, 4, n_blocks, 512);
  runner->SetRunDelay(step_delay);
  auto loop = EngineLoop::Create(std::move(runner), tok, EngineConfig{});
  KVS_CHECK(loop.ok()) << loop.status().ToString();
  return std::move(loop).value();
}

TEST(EngineLoopTest, ManyThreadsSubmitAndRead) {
  auto tok = testing::LoadTok512();
  auto loop = MakeLoop(tok.get(), 40);
  std::vector<std::thread> clients;
  std::vector<int> ok(8, 0);
  for (int c = 0; c < 8; ++c) {
    clients.emplace_back([&, c] {
      for (int k = 0; k < 4; ++k) {
        auto prompt = RandomPrompt(5 + 3 * k + c, 10 * c + k);
        auto stream = loop->Submit(Greedy(prompt, 10));
        if (!stream.ok()) return;
        StreamDelta d = (*stream)->WaitAll();
        if (d.tokens == GreedyReference(prompt, 10, kFakeVocab)) ok[c]++;
      }
    });
  }
  for (auto& t : clients) t.join();
  for (int c = 0; c < 8; ++c) EXPECT_EQ(ok[c], 4) << "client " << c;
  // A stream ends during the engine's last step; the stats of that step are
  // published after it: wait for them rather than race them.
  EngineStats st = loop->Stats();
  for (int i = 0; i < 500 && (st.requests_finished < 32 || st.kv_blocks_used > 0); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    st = loop->Stats();
  }
  EXPECT_EQ(st.requests_finished, 32);
  EXPECT_EQ(st.generated_tokens, 320);
  EXPECT_EQ(st.kv_blocks_used, 0);
  EXPECT_EQ(st.requests_running + st.requests_waiting, 0);
}

// Issue 16: Submit compared against the stats of the last step, which do
// not count requests the engine had just taken from the mailbox, so the
// queue could pass max_waiting. One request runs (max_running 1) with slow
// steps; B and C are submitted at the start of a step and taken in at its
// end; D, submitted during the next step, must find the queue full.
TEST(EngineLoopTest, MaxWaitingHoldsWhileTheEngineTakesInTheMailbox) {
  auto tok = testing::LoadTok512();
  auto runner = std::make_unique<FakeModelRunner>(kFakeVocab, 4, 256, 512);
  runner->SetRunDelay(std::chrono::milliseconds(150));
  EngineConfig config;
  config.max_running = 1;
  config.max_waiting = 2;
  auto loop_or = EngineLoop::Create(std::move(runner), tok.get(), config);
  ASSERT_TRUE(loop_or.ok());
  auto& loop = *loop_or;
  auto a = loop->Submit(Greedy(RandomPrompt(4, 1), 40));
  ASSERT_TRUE(a.ok());
  // A token arrives as a step ends; the next step starts at once.
  ASSERT_TRUE((*a)->Next(std::chrono::seconds(5)).has_value());
  // Stats are published after the step that emitted the token: until then
  // Submit counts `a` as still in transit (refusing early, by design).
  for (int i = 0; i < 500 && loop->Stats().requests_running != 1; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  ASSERT_EQ(loop->Stats().requests_running, 1);
  auto b = loop->Submit(Greedy(RandomPrompt(4, 2), 2));
  auto c = loop->Submit(Greedy(RandomPrompt(4, 3), 2));
  ASSERT_TRUE(b.ok());
  ASSERT_TRUE(c.ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(225));  // mid next step
  auto d = loop->Submit(Greedy(RandomPrompt(4, 4), 2));
  EXPECT_FALSE(d.ok()) << "the queue passed max_waiting";
  if (!d.ok()) {
    EXPECT_EQ(d.status().code(), StatusCode::kResourceExhausted);
  }
  loop->Shutdown();
}

TEST(EngineLoopTest, SubmitRejectsAtOnce) {
  auto tok = testing::LoadTok512();
  auto loop = MakeLoop(tok.get(), 8);  // 32 tokens of KV
  EXPECT_FALSE(loop->Submit(Greedy({}, 5)).ok());
  auto too_big = loop->Submit(Greedy(RandomPrompt(30, 1), 10));
  ASSERT_FALSE(too_big.ok());
  EXPECT_EQ(too_big.status().code(), StatusCode::kInvalidArgument);
}

TEST(EngineLoopTest, AbortEndsTheStreamAndShutdownAbortsTheRest) {
  auto tok = testing::LoadTok512();
  auto loop = MakeLoop(tok.get(), 256, std::chrono::microseconds(1000));  // 400 steps >= 0.4 s
  auto a = loop->Submit(Greedy(RandomPrompt(10, 1), 400));
  ASSERT_TRUE(a.ok());
  auto first = (*a)->Next(std::chrono::milliseconds(5000));  // it is running
  ASSERT_TRUE(first.has_value());
  loop->Abort((*a)->id());
  StreamDelta rest = (*a)->WaitAll();
  EXPECT_EQ(rest.finish_reason, FinishReason::kAbort);
  auto b = loop->Submit(Greedy(RandomPrompt(10, 2), 400));
  ASSERT_TRUE(b.ok());
  loop->Shutdown();
  EXPECT_EQ((*b)->WaitAll().finish_reason, FinishReason::kAbort);
  EXPECT_EQ(loop->Stats().kv_blocks_used, 0);
  loop->Shutdown();  // idempotent
  EXPECT_FALSE(loop->Submit(Greedy(RandomPrompt(10, 2), 4)).ok());
}

int CountState(const KvSnapshot& s, KvBlockState st) {
  return static_cast<int>(std::count(s.states.begin(), s.states.end(), static_cast<uint8_t>(st)));
}

TEST(EngineLoopTest, SnapshotShowsSharedBlocksAndTheirTenantThenGoesIdle) {
  auto tok = testing::LoadTok512();
  auto loop = MakeLoop(tok.get(), 256, std::chrono::microseconds(1000));
  GenerationRequest a = Greedy(RandomPrompt(40, 7), 400);  // 10 blocks of 4
  a.cache_salt = "tenant-a";
  GenerationRequest b = a;
  auto sa = loop->Submit(std::move(a));
  ASSERT_TRUE(sa.ok());
  ASSERT_TRUE((*sa)->Next(std::chrono::milliseconds(5000)).has_value());
  auto sb = loop->Submit(std::move(b));
  ASSERT_TRUE(sb.ok());
  ASSERT_TRUE((*sb)->Next(std::chrono::milliseconds(5000)).has_value());
  // Published at most every 200 ms while busy: wait for one after b started.
  KvSnapshot snap;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  do {
    snap = loop->Snapshot();
  } while (CountState(snap, KvBlockState::kShared) == 0 &&
           std::chrono::steady_clock::now() < deadline);
  ASSERT_EQ(snap.states.size(), 256u);
  ASSERT_EQ(snap.tenants.size(), 256u);
  EXPECT_GE(CountState(snap, KvBlockState::kShared), 9);  // the prompt's full blocks
  EXPECT_EQ(snap.stats.requests_running, 2);
  for (size_t i = 0; i < snap.states.size(); ++i) {
    const bool held = snap.states[i] >= static_cast<uint8_t>(KvBlockState::kInUse);
    EXPECT_EQ(snap.tenants[i], held ? TenantTag("tenant-a") : KvSnapshot::kNoTenant) << i;
  }
  loop->Abort((*sa)->id());
  loop->Abort((*sb)->id());
  (*sa)->WaitAll();
  (*sb)->WaitAll();
  // Going idle publishes at once, whatever the interval.
  KvSnapshot idle;
  const auto idle_deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  do {
    idle = loop->Snapshot();
  } while (idle.stats.requests_running != 0 && std::chrono::steady_clock::now() < idle_deadline);
  EXPECT_EQ(CountState(idle, KvBlockState::kInUse) + CountState(idle, KvBlockState::kShared), 0);
  EXPECT_GE(CountState(idle, KvBlockState::kCached), 9);
  EXPECT_GT(idle.sequence, snap.sequence);
}

TEST(EngineLoopTest, SnapshotsAreRateLimitedWhileBusy) {
  auto tok = testing::LoadTok512();
  auto loop = MakeLoop(tok.get(), 256, std::chrono::microseconds(1000));
  auto s = loop->Submit(Greedy(RandomPrompt(10, 3), 300));
  ASSERT_TRUE(s.ok());
  const auto start = std::chrono::steady_clock::now();
  (*s)->WaitAll();
  // The stream ends before the step's stats are published: wait for idle.
  KvSnapshot idle;
  do {
    idle = loop->Snapshot();
  } while (idle.stats.requests_running != 0 || idle.stats.steps == 0);
  const double elapsed_ms = std::chrono::duration<double, std::milli>(
                                std::chrono::steady_clock::now() - start).count();
  EXPECT_GE(idle.stats.steps, 299);  // 1 ms each: many more steps than snapshots
  // One at creation, one per 200 ms while busy, one on going idle.
  EXPECT_LE(idle.sequence, 3 + static_cast<int64_t>(elapsed_ms / 200));
}

// Records what the engine thread hands over (a KvEventSink for tests).
class RecordingSink final : public KvEventSink {
 public:
  std::unique_ptr<KvEventLog> Exchange(std::unique_ptr<KvEventLog> full) override {
    std::lock_guard<std::mutex> lock(mu_);
    for (const KvEvent& e : full->events()) {
      kinds_.push_back(e.kind);
      if (e.kind == KvEventKind::kStored) n_stored_blocks_ += static_cast<int>(e.n_hashes);
    }
    EXPECT_GT(full->timestamp, 1.7e9);
    ++n_batches_;
    return std::make_unique<KvEventLog>();
  }
  std::vector<KvEventKind> kinds() {
    std::lock_guard<std::mutex> lock(mu_);
    return kinds_;
  }
  int n_stored_blocks() {
    std::lock_guard<std::mutex> lock(mu_);
    return n_stored_blocks_;
  }

 private:
  std::mutex mu_;
  std::vector<KvEventKind> kinds_;
  int n_stored_blocks_ = 0;
  int n_batches_ = 0;
};

TEST(EngineLoopTest, KvEventsStartWithAllClearedThenCarryEveryStoredBlock) {
  RecordingSink sink;
  auto runner = std::make_unique<FakeModelRunner>(kFakeVocab, 4, 64, 512);
  EngineConfig config;
  auto loop_or = EngineLoop::Create(std::move(runner), nullptr, config, &sink);
  ASSERT_TRUE(loop_or.ok());
  GenerationRequest r;
  for (int i = 0; i < 10; ++i) r.prompt.push_back(1 + i);
  r.stop.max_tokens = 7;
  r.stop.ignore_eos = true;
  auto stream = (*loop_or)->Submit(std::move(r));
  ASSERT_TRUE(stream.ok());
  (*stream)->WaitAll();
  (*loop_or)->Shutdown();
  const std::vector<KvEventKind> kinds = sink.kinds();
  ASSERT_FALSE(kinds.empty());
  EXPECT_EQ(kinds[0], KvEventKind::kAllCleared);
  // 10 prompt + 7 output tokens, the last one never computed: 16 tokens in
  // KV, so 4 full blocks of 4 were stored.
  EXPECT_EQ(sink.n_stored_blocks(), 4);
}


// A stand-in for the disaggregated decode side: records what the loop asks
// of it, and on which thread.
class FakeHub final : public ImportHub {
 public:
  void Attach(Engine* engine, std::function<void()> wake) override {
    engine_ = engine;
    wake_ = std::move(wake);
  }
  Status Submit(const std::string& source, RequestId id, GenerationRequest,
                std::shared_ptr<OutputStream> stream) override {
    Note();
    if (source == "refuse") return UnavailableError("no KV link to prefill worker 'refuse'");
    std::lock_guard<std::mutex> lock(mu_);
    sources_.push_back(source);
    pending_[id] = std::move(stream);
    return Status::Ok();
  }
  bool AbortIfPending(RequestId id) override {
    Note();
    std::lock_guard<std::mutex> lock(mu_);
    auto it = pending_.find(id);
    if (it == pending_.end()) return false;
    End(*it->second, FinishReason::kAbort);
    pending_.erase(it);
    return true;
  }
  void Poll() override {
    Note();
    polls_.fetch_add(1);
  }
  bool HasPending() const override {
    std::lock_guard<std::mutex> lock(mu_);
    return !pending_.empty();
  }
  void Detach() override {
    Note();
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& [id, s] : pending_) End(*s, FinishReason::kAbort);
    pending_.clear();
    detached_ = true;
  }

  void Wake() { wake_(); }
  int polls() const { return polls_.load(); }
  std::vector<std::string> sources() const {
    std::lock_guard<std::mutex> lock(mu_);
    return sources_;
  }
  bool detached() const {
    std::lock_guard<std::mutex> lock(mu_);
    return detached_;
  }
  // Every call came from one thread, and not from `other`.
  bool OneThreadOtherThan(std::thread::id other) const {
    std::lock_guard<std::mutex> lock(mu_);
    return !threads_.empty() && std::all_of(threads_.begin(), threads_.end(), [&](auto t) {
      return t == threads_.front() && t != other;
    });
  }
  Engine* engine() const { return engine_; }

 private:
  static void End(OutputStream& s, FinishReason r) {
    StreamDelta d;
    d.finished = true;
    d.finish_reason = r;
    s.Push(std::move(d));
  }
  void Note() {
    std::lock_guard<std::mutex> lock(mu_);
    threads_.push_back(std::this_thread::get_id());
  }
  Engine* engine_ = nullptr;
  std::function<void()> wake_;
  std::atomic<int> polls_{0};
  mutable std::mutex mu_;
  std::map<RequestId, std::shared_ptr<OutputStream>> pending_;
  std::vector<std::string> sources_;
  std::vector<std::thread::id> threads_;
  bool detached_ = false;
};

TEST(EngineLoopImportTest, WithoutAHubSubmitImportIsRefused) {
  auto tok = testing::LoadTok512();
  auto loop = MakeLoop(tok.get());
  EXPECT_FALSE(loop->takes_imports());
  auto s = loop->SubmitImport("p0", Greedy(RandomPrompt(5, 1), 4));
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), StatusCode::kFailedPrecondition);
}

TEST(EngineLoopImportTest, ImportsGoThroughTheHubOnTheEngineThread) {
  auto tok = testing::LoadTok512();
  FakeHub hub;
  auto loop_or = EngineLoop::Create(std::make_unique<FakeModelRunner>(kFakeVocab, 4, 256, 512),
                                    tok.get(), EngineConfig{}, nullptr, &hub);
  ASSERT_TRUE(loop_or.ok()) << loop_or.status().ToString();
  EngineLoop& loop = **loop_or;
  ASSERT_NE(hub.engine(), nullptr);
  EXPECT_TRUE(loop.takes_imports());

  auto kept = loop.SubmitImport("p0", Greedy(RandomPrompt(5, 2), 4));
  ASSERT_TRUE(kept.ok()) << kept.status().ToString();
  for (int i = 0; i < 500 && hub.sources().empty(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  EXPECT_EQ(hub.sources(), std::vector<std::string>{"p0"});

  // The hub refusing ends the stream with its error.
  auto refused = loop.SubmitImport("refuse", Greedy(RandomPrompt(5, 3), 4));
  ASSERT_TRUE(refused.ok());
  const StreamDelta r = (*refused)->WaitAll();
  EXPECT_EQ(r.finish_reason, FinishReason::kError);
  EXPECT_NE(r.error.message().find("no KV link"), std::string::npos) << r.error.ToString();

  // Wake polls the hub though the engine has nothing to compute.
  const int polls = hub.polls();
  hub.Wake();
  for (int i = 0; i < 500 && hub.polls() == polls; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  EXPECT_GT(hub.polls(), polls);

  // Abort reaches a request the hub still holds.
  loop.Abort((*kept)->id());
  EXPECT_EQ((*kept)->WaitAll().finish_reason, FinishReason::kAbort);

  // Colocated requests still run on the same loop.
  const auto prompt = RandomPrompt(6, 4);
  auto plain = loop.Submit(Greedy(prompt, 5));
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ((*plain)->WaitAll().tokens, GreedyReference(prompt, 5, kFakeVocab));

  loop.Shutdown();
  EXPECT_TRUE(hub.detached());
  EXPECT_TRUE(hub.OneThreadOtherThan(std::this_thread::get_id()));
}

}  // namespace
}  // namespace kvs
