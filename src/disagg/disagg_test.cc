// A prefill engine and a decode engine in one process, paired over loopback
// TCP and UCX: outputs equal one colocated engine's bit for bit, the decode
// side's prefix cache cuts the blocks sent, mismatched models are refused,
// and a peer lost mid-transfer ends the request cleanly with every block back.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <thread>

#include "disagg/decode_worker.h"
#include "disagg/model_fingerprint.h"
#include "disagg/prefill_worker.h"
#include "disagg/testing_faulty_transport.h"
#include "engine/engine.h"
#include "model/model.h"
#include "runtime/backend_runner.h"

namespace kvs {
namespace {

const std::string kShared = KVS_SHARED_DIR;

const Model& Stories() {
  static const Model* m = [] {
    auto r = Model::Load(kShared + "/models/stories260K.bin", kShared + "/models/tok512.bin");
    KVS_CHECK(r.ok()) << r.status().ToString();
    return std::move(r).value().release();
  }();
  return *m;
}

RunnerConfig Rc(int block_size = 16) {
  RunnerConfig rc;
  rc.n_threads = 1;
  rc.block_size = block_size;
  rc.max_kv_tokens = 2048;
  return rc;
}

GenerationRequest Req(std::vector<TokenId> prompt, int max_tokens, bool seeded, uint64_t seed) {
  GenerationRequest r;
  r.prompt = std::move(prompt);
  r.stop.max_tokens = max_tokens;
  r.stop.ignore_eos = true;
  if (seeded) {
    r.sampling.temperature = 0.9f;
    r.sampling.top_p = 0.95f;
    r.sampling.seed = seed;
    r.sampling.has_seed = true;
  } else {
    r.sampling.temperature = 0;
  }
  return r;
}

std::vector<TokenId> RandomIds(int n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<TokenId> p{1};
  while (int(p.size()) < n) p.push_back(TokenId(3 + rng() % 509));
  return p;
}

// Prompts from 1 to 150 tokens (partial and whole blocks, several chunks),
// story text and random ids, greedy and seeded.
std::vector<GenerationRequest> Workload() {
  const Model& m = Stories();
  std::vector<GenerationRequest> out;
  out.push_back(Req({1}, 10, false, 0));
  out.push_back(Req(m.tokenizer().Encode("Once upon a time", true), 24, false, 0));
  out.push_back(Req(m.tokenizer().Encode("Once upon a time", true), 24, true, 11));
  out.push_back(Req(RandomIds(17, 1), 16, false, 0));
  out.push_back(Req(RandomIds(33, 2), 16, true, 12));
  out.push_back(Req(RandomIds(48, 3), 12, false, 0));
  out.push_back(Req(RandomIds(100, 4), 20, true, 13));
  out.push_back(Req(RandomIds(150, 5), 20, false, 0));
  return out;
}

std::unique_ptr<BackendRunner> MakeRunner(const Model& m, int block_size = 16) {
  auto r = BackendRunner::Create(&m, Rc(block_size));
  KVS_CHECK(r.ok()) << r.status().ToString();
  return std::move(r).value();
}

// The oracle: one colocated engine, stepped until every request is done.
std::vector<std::vector<TokenId>> Colocated(const std::vector<GenerationRequest>& reqs) {
  const Model& m = Stories();
  auto engine = Engine::Create(MakeRunner(m), &m.tokenizer(), EngineConfig{});
  KVS_CHECK(engine.ok());
  std::vector<std::shared_ptr<OutputStream>> streams;
  for (size_t i = 0; i < reqs.size(); ++i) {
    streams.push_back(std::make_shared<OutputStream>(RequestId(i)));
    (*engine)->AddRequest(RequestId(i), reqs[i], streams.back());
  }
  while ((*engine)->HasWork()) KVS_CHECK((*engine)->Step().ok());
  std::vector<std::vector<TokenId>> out;
  for (auto& s : streams) out.push_back(s->WaitAll().tokens);
  return out;
}

const Fingerprint& StoriesFingerprint() {
  static const Fingerprint f = ModelFingerprint(Stories());
  return f;
}

// Connects a prefill and a decode side over `kind`, each transport optionally
// wrapped; returns both workers' creation results.
struct Link {
  std::unique_ptr<Transport> prefill, decode;
};
Link Connect(TransportKind kind) {
  auto listener = ListenTransport(kind, "127.0.0.1", 0);
  KVS_CHECK(listener.ok()) << listener.status().ToString();
  StatusOr<std::unique_ptr<Transport>> p = InternalError("not run");
  std::thread t([&] { p = ConnectTransport(kind, "127.0.0.1", (*listener)->port(), 5000); });
  auto d = (*listener)->Accept(5000);
  t.join();
  KVS_CHECK(p.ok()) << p.status().ToString();
  KVS_CHECK(d.ok()) << d.status().ToString();
  return {std::move(p).value(), std::move(d).value()};
}

struct Pair {
  std::unique_ptr<BackendRunner> prefill_runner;
  BackendRunner* decode_runner = nullptr;
  std::unique_ptr<Engine> engine;
  std::unique_ptr<PrefillWorker> prefill;
  std::unique_ptr<DecodeWorker> decode;
  int prefill_delay_ms = 0;  // the prefill engine starts this late on each request
};

struct PairOptions {
  int prefill_chunk = 24;  // not a multiple of the block size: chunks end mid-block
  int close_prefill_after_sends = -1;
  int close_decode_after_receives = -1;
  int silent_prefill_after_sends = -1;
  int peer_silence_ms = 10000;
  int ping_interval_ms = 1000;
  int prefill_delay_ms = 0;
  int alloc_timeout_ms = 30000;
  int64_t decode_max_kv_tokens = 2048;
};

Pair MakePair(TransportKind kind, const PairOptions& o = {}) {
  const Model& m = Stories();
  Pair p;
  p.prefill_runner = MakeRunner(m);
  RunnerConfig drc = Rc();
  drc.max_kv_tokens = o.decode_max_kv_tokens;
  auto made = BackendRunner::Create(&m, drc);
  KVS_CHECK(made.ok());
  std::unique_ptr<BackendRunner> dr = std::move(made).value();
  p.decode_runner = dr.get();
  auto engine = Engine::Create(std::move(dr), &m.tokenizer(), EngineConfig{});
  KVS_CHECK(engine.ok());
  p.engine = std::move(engine).value();
  Link link = Connect(kind);
  std::unique_ptr<Transport> pt = std::make_unique<testing::FaultyTransport>(
      std::move(link.prefill), o.close_prefill_after_sends, -1, o.silent_prefill_after_sends);
  std::unique_ptr<Transport> dt = std::make_unique<testing::FaultyTransport>(
      std::move(link.decode), -1, o.close_decode_after_receives);
  PrefillWorkerConfig pc;
  pc.max_chunk_tokens = o.prefill_chunk;
  pc.frame_stall_ms = 1000;
  pc.alloc_timeout_ms = o.alloc_timeout_ms;
  pc.ping_interval_ms = o.ping_interval_ms;
  p.prefill_delay_ms = o.prefill_delay_ms;
  StatusOr<std::unique_ptr<PrefillWorker>> pw = InternalError("not run");
  std::thread t([&] {
    pw = PrefillWorker::Create(p.prefill_runner.get(), StoriesFingerprint(), std::move(pt), pc);
  });
  DecodeWorkerConfig dc;
  dc.frame_stall_ms = 1000;
  dc.peer_silence_ms = o.peer_silence_ms;
  auto dw = DecodeWorker::Create(p.engine.get(), &p.decode_runner->mutable_kv_storage(), m.config(),
                                 StoriesFingerprint(), std::move(dt), dc);
  t.join();
  KVS_CHECK(pw.ok()) << pw.status().ToString();
  KVS_CHECK(dw.ok()) << dw.status().ToString();
  p.prefill = std::move(pw).value();
  p.decode = std::move(dw).value();
  return p;
}

struct Served {
  std::vector<StreamDelta> results;
  std::vector<Status> prefill_status;
};

// Submits every request to the decode side (this thread runs its engine) and
// prefills them in order on a thread of their own, as a router would.
Served Serve(Pair& p, const std::vector<GenerationRequest>& reqs, RequestId first_id = 0) {
  std::vector<std::shared_ptr<OutputStream>> streams;
  for (size_t i = 0; i < reqs.size(); ++i) {
    const RequestId id = first_id + RequestId(i);
    streams.push_back(std::make_shared<OutputStream>(id));
    KVS_CHECK(p.decode->Submit(id, reqs[i], streams.back()).ok());
  }
  Served out;
  out.prefill_status.resize(reqs.size());
  std::thread prefill([&] {
    for (size_t i = 0; i < reqs.size(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(p.prefill_delay_ms));
      out.prefill_status[i] = p.prefill->Prefill(first_id + RequestId(i), reqs[i].prompt, "");
    }
  });
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  auto all_done = [&] {
    for (auto& s : streams) {
      if (!s->finished()) return false;
    }
    return true;
  };
  while (!all_done() || p.decode->HasPending()) {
    KVS_CHECK(std::chrono::steady_clock::now() < deadline) << "disagg serving hung";
    p.decode->Poll();
    if (p.engine->HasWork()) {
      KVS_CHECK(p.engine->Step().ok());
    } else {
      std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
  }
  prefill.join();
  for (auto& s : streams) out.results.push_back(s->WaitAll());
  return out;
}

class DisaggTest : public ::testing::TestWithParam<TransportKind> {};

TEST_P(DisaggTest, OutputsEqualColocatedBitForBit) {
  const auto reqs = Workload();
  const auto want = Colocated(reqs);
  Pair p = MakePair(GetParam());
  const int free_at_start = p.engine->kv().n_free_blocks();
  Served got = Serve(p, reqs);
  for (size_t i = 0; i < reqs.size(); ++i) {
    EXPECT_TRUE(got.prefill_status[i].ok()) << i << ": " << got.prefill_status[i].ToString();
    EXPECT_EQ(got.results[i].finish_reason, FinishReason::kLength) << i;
    EXPECT_EQ(got.results[i].tokens, want[i])
        << "request " << i << " (" << reqs[i].prompt.size() << " prompt tokens)";
  }
  // Every prompt block but the decode side's prefix hits crossed, each layer.
  const TransferStats ps = p.prefill->Stats();
  const TransferStats ds = p.decode->Stats();
  EXPECT_EQ(ps.requests_ok, int64_t(reqs.size()));
  EXPECT_EQ(ds.requests_ok, int64_t(reqs.size()));
  EXPECT_EQ(ps.block_layers, ds.block_layers);
  EXPECT_EQ(ps.bytes, ds.bytes);
  EXPECT_EQ(ps.blocks, ds.blocks);
  EXPECT_EQ(ps.block_layers, ps.blocks * Stories().config().n_layers);
  EXPECT_GT(ps.blocks, 0);
  // Per-layer send times add up to the total; exposure is a part of it.
  ASSERT_EQ(ps.layer_busy_s.size(), size_t(Stories().config().n_layers));
  double layer_sum = 0;
  for (size_t l = 0; l < ps.layer_busy_s.size(); ++l) {
    layer_sum += ps.layer_busy_s[l];
    EXPECT_LE(ps.layer_exposed_s[l], ps.layer_busy_s[l] + 1e-12);
  }
  EXPECT_NEAR(layer_sum, ps.send_busy_s, 1e-9);
  EXPECT_LE(ps.exposed_s, ps.send_busy_s + 1e-12);
  EXPECT_GE(ps.hidden_fraction(), 0.0);
  EXPECT_LE(ps.hidden_fraction(), 1.0);
  EXPECT_EQ(p.engine->kv().n_free_blocks(), free_at_start);
  EXPECT_EQ(p.prefill->kv().n_free_blocks(), p.prefill->kv().n_blocks());
  p.engine->kv().CheckInvariants();
}

TEST_P(DisaggTest, DecodePrefixHitCutsTheBlocksSent) {
  Pair p = MakePair(GetParam());
  const std::vector<TokenId> a = RandomIds(100, 21);
  std::vector<TokenId> b(a.begin(), a.begin() + 64);  // 4 whole blocks shared
  const std::vector<TokenId> tail = RandomIds(30, 22);
  b.insert(b.end(), tail.begin() + 1, tail.end());  // 93 tokens
  Served first = Serve(p, {Req(a, 8, false, 0)});
  ASSERT_TRUE(first.prefill_status[0].ok());
  const TransferStats before = p.prefill->Stats();
  // a: prompt[0, 99) is 7 blocks of 16, none cached on the decode side.
  EXPECT_EQ(before.blocks, 7);
  Served second = Serve(p, {Req(b, 8, false, 0)}, 100);
  ASSERT_TRUE(second.prefill_status[0].ok()) << second.prefill_status[0].ToString();
  const TransferStats after = p.prefill->Stats();
  // b: prompt[0, 92) is 6 blocks, the first 4 held by the decode side.
  EXPECT_EQ(after.blocks - before.blocks, 2);
  const int n_layers = Stories().config().n_layers;
  EXPECT_EQ(after.block_layers - before.block_layers, 2 * n_layers);
  EXPECT_EQ(second.results[0].cached_tokens, 64);
  EXPECT_EQ(second.results[0].tokens, Colocated({Req(b, 8, false, 0)})[0]);
}

TEST_P(DisaggTest, PrefillLostMidTransferEndsTheRequestAndLeaksNoBlock) {
  // The prefill side's link closes before its 4th send (kAlloc is a receive):
  // a few layer frames of the first request have crossed.
  PairOptions o;
  o.close_prefill_after_sends = 3;
  Pair p = MakePair(GetParam(), o);
  const int free_d = p.engine->kv().n_free_blocks();
  Served got =
      Serve(p, {Req(RandomIds(150, 31), 8, false, 0), Req(RandomIds(60, 32), 8, false, 0)});
  for (const StreamDelta& d : got.results) {
    EXPECT_EQ(d.finish_reason, FinishReason::kError);
    EXPECT_FALSE(d.error.ok());
  }
  EXPECT_FALSE(got.prefill_status[0].ok());
  EXPECT_EQ(p.engine->kv().n_free_blocks(), free_d);
  EXPECT_EQ(p.prefill->kv().n_free_blocks(), p.prefill->kv().n_blocks());
  EXPECT_FALSE(p.decode->HasPending());
  EXPECT_FALSE(
      p.decode->Submit(7, Req({1, 5}, 4, false, 0), std::make_shared<OutputStream>(7)).ok())
      << "a lost link refuses new requests";
  p.engine->kv().CheckInvariants();
}

TEST_P(DisaggTest, APrefillPeerThatFallsSilentFailsItsImportsInsteadOfHanging) {
  // After the hello and one more send, the prefill side's link swallows
  // every frame without closing: a peer gone with no reset.
  PairOptions o;
  o.silent_prefill_after_sends = 2;
  o.peer_silence_ms = 600;
  Pair p = MakePair(GetParam(), o);
  const int free_d = p.engine->kv().n_free_blocks();
  const auto t0 = std::chrono::steady_clock::now();
  Served got = Serve(p, {Req(RandomIds(150, 45), 8, false, 0)});
  const double waited = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_EQ(got.results[0].finish_reason, FinishReason::kError);
  EXPECT_NE(got.results[0].error.message().find("silent"), std::string::npos)
      << got.results[0].error.ToString();
  EXPECT_LT(waited, 10.0);
  EXPECT_EQ(p.engine->kv().n_free_blocks(), free_d);
}

TEST_P(DisaggTest, PingsKeepASlowPrefillPeerFromLookingSilent) {
  // The prefill engine starts each request 1 s after its reservation, and
  // the decode side gives up after 300 ms of silence: only the pings (every
  // 100 ms) keep the link.
  PairOptions o;
  o.peer_silence_ms = 300;
  o.ping_interval_ms = 100;
  o.prefill_delay_ms = 1000;
  Pair p = MakePair(GetParam(), o);
  const std::vector<GenerationRequest> reqs = {Req(RandomIds(40, 46), 8, false, 0)};
  Served got = Serve(p, reqs);
  EXPECT_EQ(got.results[0].finish_reason, FinishReason::kLength) << got.results[0].error.ToString();
  EXPECT_EQ(got.results[0].tokens, Colocated(reqs)[0]);
}

TEST_P(DisaggTest, DecodeLostMidTransferEndsTheRequestAndLeaksNoBlock) {
  // The decode side's link closes on its 8th receive: inside the first
  // request's layer frames (hello is 2 receives, each frame 2 or more).
  PairOptions o;
  o.close_decode_after_receives = 8;
  Pair p = MakePair(GetParam(), o);
  const int free_d = p.engine->kv().n_free_blocks();
  Served got = Serve(p, {Req(RandomIds(150, 41), 8, false, 0)});
  EXPECT_EQ(got.results[0].finish_reason, FinishReason::kError);
  EXPECT_EQ(p.engine->kv().n_free_blocks(), free_d);
  // The prefill side may have handed every frame to its socket before the
  // loss showed (a send completes locally): it fails or succeeds, but its
  // blocks are back either way.
  EXPECT_EQ(p.prefill->kv().n_free_blocks(), p.prefill->kv().n_blocks());
  const TransferStats ps = p.prefill->Stats();
  EXPECT_EQ(ps.requests_failed + ps.requests_ok, 1);
  EXPECT_EQ(p.decode->Stats().requests_failed, 1);
}

TEST_P(DisaggTest, PrefillGivingUpOnAnUnreservedRequestEndsIt) {
  // The decode pool cannot hold the prompt while another import holds most
  // of it; the prefill side stops waiting for the reservation and says so.
  PairOptions o;
  o.alloc_timeout_ms = 300;
  o.decode_max_kv_tokens = 160;  // 10 blocks of 16
  Pair p = MakePair(GetParam(), o);
  const int free_d = p.engine->kv().n_free_blocks();
  // Request 1 reserves 6 blocks and is never prefilled (no Prefill call for it).
  auto s1 = std::make_shared<OutputStream>(1);
  ASSERT_TRUE(p.decode->Submit(1, Req(RandomIds(97, 51), 4, false, 0), s1).ok());
  p.decode->Poll();
  // Request 2 needs 6 more: it waits; the prefill side gives up after 300 ms.
  auto s2 = std::make_shared<OutputStream>(2);
  ASSERT_TRUE(p.decode->Submit(2, Req(RandomIds(97, 52), 4, false, 0), s2).ok());
  p.decode->Poll();
  const Status st = p.prefill->Prefill(2, Req(RandomIds(97, 52), 4, false, 0).prompt, "");
  EXPECT_EQ(st.code(), StatusCode::kUnavailable) << st.ToString();
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!s2->finished() && std::chrono::steady_clock::now() < deadline) {
    p.decode->Poll();
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  const StreamDelta d = s2->WaitAll();
  EXPECT_EQ(d.finish_reason, FinishReason::kError);
  EXPECT_NE(d.error.message().find("did not reserve"), std::string::npos) << d.error.ToString();
  p.decode->Abort(1);
  p.decode->Poll();
  EXPECT_EQ(s1->WaitAll().finish_reason, FinishReason::kAbort);
  EXPECT_EQ(p.engine->kv().n_free_blocks(), free_d);
  EXPECT_FALSE(p.decode->HasPending());
}

INSTANTIATE_TEST_SUITE_P(Transports, DisaggTest,
                         ::testing::Values(TransportKind::kTcp, TransportKind::kUcx),
                         [](const auto& info) {
                           return std::string(TransportKindName(info.param));
                         });

// Handshake refusals need no transfer: TCP is enough.
StatusOr<std::unique_ptr<PrefillWorker>> PairWith(const Model& prefill_model,
                                                  const Fingerprint& prefill_fp,
                                                  int prefill_block_size, Status* decode_status) {
  const Model& m = Stories();
  static std::unique_ptr<BackendRunner> pr;
  pr = MakeRunner(prefill_model, prefill_block_size);
  auto dr = MakeRunner(m);
  KvStorage* ds = &dr->mutable_kv_storage();
  auto engine = Engine::Create(std::move(dr), &m.tokenizer(), EngineConfig{});
  Link link = Connect(TransportKind::kTcp);
  StatusOr<std::unique_ptr<PrefillWorker>> pw = InternalError("not run");
  std::thread t(
      [&] { pw = PrefillWorker::Create(pr.get(), prefill_fp, std::move(link.prefill), {}); });
  auto dw = DecodeWorker::Create(engine->get(), ds, m.config(), StoriesFingerprint(),
                                 std::move(link.decode));
  t.join();
  *decode_status = dw.status();
  return pw;
}

TEST(DisaggHandshakeTest, AnotherModelFileIsRefused) {
  // stories260K with one weight byte changed: same shapes, other weights.
  const auto dir =
      std::filesystem::temp_directory_path() / ("kvs_disagg_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const std::string path = (dir / "stories_changed.bin").string();
  std::filesystem::copy_file(kShared + "/models/stories260K.bin", path,
                             std::filesystem::copy_options::overwrite_existing);
  {
    std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
    // A byte of the token embedding (after the 28-byte header).
    f.seekg(428);
    char c;
    f.read(&c, 1);
    c ^= 0x10;
    f.seekp(428);
    f.write(&c, 1);
  }
  auto other = Model::Load(path, kShared + "/models/tok512.bin");
  ASSERT_TRUE(other.ok()) << other.status().ToString();
  const Fingerprint fp = ModelFingerprint(**other);
  EXPECT_NE(fp, StoriesFingerprint());
  EXPECT_EQ(ModelFingerprint(Stories()), StoriesFingerprint()) << "deterministic";
  Status ds;
  auto pw = PairWith(**other, fp, 16, &ds);
  EXPECT_EQ(pw.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(pw.status().message().find("model files differ"), std::string::npos)
      << pw.status().ToString();
  EXPECT_EQ(ds.code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(ds.message().find("model files differ"), std::string::npos) << ds.ToString();
  std::filesystem::remove_all(dir);
}

TEST(DisaggHandshakeTest, AnotherBlockSizeIsRefused) {
  Status ds;
  auto pw = PairWith(Stories(), StoriesFingerprint(), 32, &ds);
  EXPECT_EQ(pw.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(pw.status().message().find("KV block size 32 here, 16 on the peer"), std::string::npos)
      << pw.status().ToString();
  EXPECT_NE(ds.message().find("KV block size 16 here, 32 on the peer"), std::string::npos)
      << ds.ToString();
}

}  // namespace
}  // namespace kvs
