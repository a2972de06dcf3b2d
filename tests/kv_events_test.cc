// KV events end to end: the engine (with a deterministic fake model) runs a
// random workload with shared prefixes, two tenants, evictions and
// preemptions; every step's events go through the ZeroMQ publisher to an
// independent Python subscriber (tests/kv_events_subscriber.py, Debian's
// python3-zmq, python3-msgpack and python3-cbor2) that decodes vLLM's schema.
// It loses one message on purpose and must get it back from the replay
// socket; the set of blocks it rebuilds must equal the engine's cached
// blocks; with sha256_cbor it recomputes every published hash from token ids.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "engine/engine.h"
#include "engine/testing_fake_runner.h"
#include "events/kv_event_publisher.h"
#include "test_util.h"

namespace kvs::kv_events_test {
namespace {

constexpr int kBlockSize = 4;
constexpr int kVocab = 64;

double NowUnix() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

struct Outcome {
  nlohmann::json result;
  int exit_code = -1;
  std::set<uint64_t> engine_cached;
  KvStats kv;
  int64_t preemptions = 0;
  int64_t batches = 0;
};

Outcome RunWorkload(PrefixHashAlgo algo, const std::string& mode_name, uint32_t seed) {
  Outcome o;
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() /
      ("kvs_kv_events_" + mode_name + "_" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);

  events::KvEventPublisherConfig pc;
  pc.endpoint = "tcp://127.0.0.1:*";
  pc.replay_endpoint = "tcp://127.0.0.1:*";
  auto pub_or = events::KvEventPublisher::Create(pc);
  EXPECT_TRUE(pub_or.ok()) << pub_or.status().ToString();
  if (!pub_or.ok()) return o;
  std::unique_ptr<events::KvEventPublisher> pub = std::move(pub_or).value();

  // The prompts: three shared 12-token prefixes, random tails, two tenants.
  std::mt19937 rng(seed);
  struct Prompt {
    std::vector<TokenId> tokens;
    std::string salt;
    int max_tokens;
  };
  std::vector<Prompt> prompts;
  for (int i = 0; i < 48; ++i) {
    Prompt p;
    const int prefix = static_cast<int>(rng() % 3);
    for (int k = 0; k < 12; ++k) p.tokens.push_back(1 + (prefix * 17 + k * 5) % (kVocab - 1));
    const int tail = static_cast<int>(rng() % 14);
    for (int k = 0; k < tail; ++k) p.tokens.push_back(static_cast<TokenId>(rng() % kVocab));
    p.salt = rng() % 3 == 0 ? "tenant-b" : "";
    p.max_tokens = 1 + static_cast<int>(rng() % 14);
    prompts.push_back(std::move(p));
  }
  nlohmann::json spec;
  spec["seed"] = std::string(kDefaultNoneHashSeed);
  spec["block_size"] = kBlockSize;
  for (const Prompt& p : prompts)
    spec["prompts"].push_back({{"tokens", p.tokens}, {"salt", p.salt}});
  std::ofstream(dir / "prompts.json") << spec.dump();

  // The subscriber loses batch 3 on purpose.
  const std::string cmd = "/usr/bin/python3 " + std::string(KVS_SOURCE_DIR) +
                          "/tests/kv_events_subscriber.py " + pub->endpoint() + " " +
                          pub->replay_endpoint() + " " + dir.string() + " " + mode_name + " 3";
  FILE* py = popen(cmd.c_str(), "w");
  EXPECT_NE(py, nullptr);
  if (py == nullptr) return o;
  for (int i = 0; i < 500 && !std::filesystem::exists(dir / "ready"); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }

  EngineConfig ec;
  ec.max_running = 4;
  ec.max_batched_tokens = 24;
  ec.prefix_hash = algo;
  // 20 blocks of 4 tokens: four running requests of up to 40 tokens do not
  // fit, so the scheduler preempts, and finished prefixes get evicted.
  auto engine_or = Engine::Create(
      std::make_unique<testing::FakeModelRunner>(kVocab, kBlockSize, 20, 64), nullptr, ec);
  EXPECT_TRUE(engine_or.ok());
  if (!engine_or.ok()) return o;
  Engine& engine = **engine_or;

  // What EngineLoop does after every step (engine_loop.cc, FlushKvEvents).
  auto log = std::make_unique<KvEventLog>();
  log->AddAllCleared();
  engine.SetKvEventLog(log.get());
  auto flush = [&] {
    if (log->empty()) return;
    log->timestamp = NowUnix();
    log = pub->Exchange(std::move(log));
    log->Clear();
    engine.SetKvEventLog(log.get());
    ++o.batches;
  };
  flush();

  std::vector<std::shared_ptr<OutputStream>> streams;
  size_t next = 0;
  RequestId id = 1;
  while (next < prompts.size() || engine.HasWork()) {
    // Arrivals in small random bursts between steps.
    for (int k = static_cast<int>(rng() % 3); k > 0 && next < prompts.size(); --k, ++next) {
      GenerationRequest r;
      r.prompt = prompts[next].tokens;
      r.cache_salt = prompts[next].salt;
      r.stop.max_tokens = prompts[next].max_tokens;
      r.stop.ignore_eos = true;
      r.sampling.temperature = 0;
      auto stream = std::make_shared<OutputStream>(id);
      EXPECT_TRUE(engine.Validate(r).ok());
      engine.AddRequest(id++, std::move(r), stream);
      streams.push_back(stream);
    }
    if (engine.HasWork()) {
      EXPECT_TRUE(engine.Step().ok());
    }
    flush();
  }
  engine.kv().ForEachCachedHash(
      [&](const BlockHash& h) { o.engine_cached.insert(events::ExternalBlockHash(h)); });
  o.kv = engine.kv().Stats();
  o.preemptions = engine.Stats().preemptions;

  // Every batch handed over has gone out before the subscriber is told.
  for (int i = 0; i < 500 && pub->counters().published < o.batches; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(pub->counters().published, o.batches);
  EXPECT_EQ(pub->counters().dropped, 0);
  std::fprintf(py, "done %lld\n", static_cast<long long>(o.batches - 1));
  std::fflush(py);
  const int status = pclose(py);
  o.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  EXPECT_GE(pub->counters().replays, 1);
  pub->Shutdown();
  std::ifstream in(dir / "result.json");
  if (in) o.result = nlohmann::json::parse(in, nullptr, false);
  std::filesystem::remove_all(dir);
  return o;
}

void ExpectSubscriberAgrees(const Outcome& o) {
  ASSERT_EQ(o.exit_code, 0) << "the subscriber found errors (see stderr above)";
  ASSERT_TRUE(o.result.is_object());
  std::fprintf(stderr,
               "batches %lld, engine cached %zu, hits %lld tokens, evictions %lld, "
               "preemptions %lld; subscriber: cached %zu, replayed gaps %d, hashes verified %d, "
               "prompt blocks checked %d\n",
               static_cast<long long>(o.batches), o.engine_cached.size(),
               static_cast<long long>(o.kv.prefix_hit_tokens),
               static_cast<long long>(o.kv.evictions), static_cast<long long>(o.preemptions),
               o.result["cached"].size(), o.result["n_replayed_gaps"].get<int>(),
               o.result["n_verified_hashes"].get<int>(),
               o.result["n_prompt_blocks_checked"].get<int>());
  // The workload did what it is meant to exercise.
  EXPECT_GT(o.kv.prefix_hit_tokens, 0);
  EXPECT_GT(o.kv.evictions, 0);
  EXPECT_GT(o.preemptions, 0);
  EXPECT_TRUE(o.result["dropped"].get<bool>());
  EXPECT_TRUE(o.result["drop_recovered"].get<bool>());
  EXPECT_EQ(o.result["n_batches"].get<int64_t>(), o.batches);
  std::set<uint64_t> theirs;
  for (const auto& h : o.result["cached"]) theirs.insert(h.get<uint64_t>());
  EXPECT_FALSE(o.engine_cached.empty());
  EXPECT_EQ(theirs, o.engine_cached);
}

TEST(KvEventsTest, SubscriberRebuildsTheCachedBlocksAndRecomputesSha256CborHashes) {
  ASSERT_TRUE(testing::PythonImports("zmq, msgpack, cbor2"))
      << "`make deps` installs python3-zmq, python3-msgpack and python3-cbor2";
  const Outcome o = RunWorkload(PrefixHashAlgo::kSha256Cbor, "sha256_cbor", 11);
  ExpectSubscriberAgrees(o);
  // Every published hash was recomputed from its tokens, and every prompt's
  // full blocks hashed by the subscriber were among the published ones.
  EXPECT_GT(o.result["n_verified_hashes"].get<int>(), 50);
  EXPECT_GT(o.result["n_prompt_blocks_checked"].get<int>(), 100);
}

TEST(KvEventsTest, SubscriberRebuildsTheCachedBlocksWithNativeHashes) {
  ASSERT_TRUE(testing::PythonImports("zmq, msgpack, cbor2"))
      << "`make deps` installs python3-zmq, python3-msgpack and python3-cbor2";
  const Outcome o = RunWorkload(PrefixHashAlgo::kNative, "native", 12);
  ExpectSubscriberAgrees(o);
}

}  // namespace
}  // namespace kvs::kv_events_test
