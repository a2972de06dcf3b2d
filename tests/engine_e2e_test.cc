// End-to-end engine tests with real models (stories260K, quant-test Q8_0):
// results do not depend on batching, prefix reuse is real, memory pressure is
// survived, and `kvserve batch` writes what it should.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "engine/engine_loop.h"
#include "grammar/gbnf.h"
#include "grammar/json_schema.h"
#include "model/model.h"
#include "runtime/backend_runner.h"
#include "runtime/single_sequence.h"

namespace kvs::engine_e2e_test {
namespace {

const std::string kShared = KVS_SHARED_DIR;

std::unique_ptr<Model> Load(const std::string& model, const std::string& tok) {
  auto m = Model::Load(model, tok);
  KVS_CHECK(m.ok()) << m.status().ToString();
  return std::move(m).value();
}
std::unique_ptr<Model> Stories() {
  return Load(kShared + "/models/stories260K.bin", kShared + "/models/tok512.bin");
}
std::unique_ptr<Model> QuantQ8() {
  return Load(kShared + "/models/quant-test/quant-test-Q8_0.gguf", "");
}

RunnerConfig Runner(int64_t max_kv_tokens = 0) {
  RunnerConfig rc;
  rc.n_threads = 1;
  rc.block_size = 16;
  rc.max_kv_tokens = max_kv_tokens;
  return rc;
}

// The single-sequence path `kvserve generate` takes, with a plain argmax
// (lowest id on ties): the oracle every engine run must equal bit for bit.
std::vector<TokenId> Alone(const Model& m, const std::vector<TokenId>& prompt, int n) {
  auto runner = BackendRunner::Create(&m, Runner(int64_t(prompt.size()) + n));
  KVS_CHECK(runner.ok()) << runner.status().ToString();
  SingleSequence seq(runner->get());
  auto logits = seq.Feed(prompt);
  std::vector<TokenId> out;
  const int n_vocab = m.config().n_vocab;
  while (true) {
    KVS_CHECK(logits.ok()) << logits.status().ToString();
    TokenId best = 0;
    for (TokenId v = 1; v < n_vocab; ++v) {
      if ((*logits)[v] > (*logits)[best]) best = v;
    }
    out.push_back(best);
    if (int(out.size()) == n) return out;
    logits = seq.Feed(std::span<const TokenId>(&out.back(), 1));
  }
}

GenerationRequest Greedy(std::vector<TokenId> prompt, int max_tokens) {
  GenerationRequest r;
  r.prompt = std::move(prompt);
  r.sampling.temperature = 0;
  r.stop.max_tokens = max_tokens;
  r.stop.ignore_eos = true;
  return r;
}

// 32 prompts: stories-like text and random ids, 1 to ~120 tokens.
std::vector<GenerationRequest> Workload(const Model& m, int n = 32) {
  const char* texts[] = {"Once upon a time", "The cat", "Lily wanted to play with her", "",
                         "One day, a little boy named Tom went to the park and saw a big dog."};
  std::vector<GenerationRequest> out;
  std::mt19937 rng(7);
  for (int i = 0; i < n; ++i) {
    std::vector<TokenId> p;
    if (i % 2 == 0) {
      p = m.tokenizer().Encode(texts[(i / 2) % 5], true);
    } else {
      p = {1};
      const int len = 1 + int(rng() % 120);
      while (int(p.size()) < len) p.push_back(TokenId(3 + rng() % (m.config().n_vocab - 3)));
    }
    out.push_back(Greedy(std::move(p), 12 + (i * 5) % 29));
  }
  return out;
}

struct EngineRun {
  std::vector<std::vector<TokenId>> tokens;
  std::vector<int> cached;
  EngineStats stats;
};

// Runs the requests through one engine `rounds` times (rounds after the first
// are served from the prefix cache); returns the last round.
EngineRun RunEngine(const Model& m, const std::vector<GenerationRequest>& reqs,
                    const EngineConfig& ec, const RunnerConfig& rc, int rounds = 1) {
  auto runner = BackendRunner::Create(&m, rc);
  KVS_CHECK(runner.ok()) << runner.status().ToString();
  auto loop = EngineLoop::Create(std::move(runner).value(), &m.tokenizer(), ec);
  KVS_CHECK(loop.ok()) << loop.status().ToString();
  EngineRun run;
  for (int round = 0; round < rounds; ++round) {
    std::vector<std::shared_ptr<OutputStream>> streams;
    for (const auto& r : reqs) {
      auto s = (*loop)->Submit(r);
      KVS_CHECK(s.ok()) << s.status().ToString();
      streams.push_back(std::move(s).value());
    }
    run.tokens.clear();
    run.cached.clear();
    for (auto& s : streams) {
      StreamDelta d = s->WaitAll();
      KVS_CHECK(d.finish_reason == FinishReason::kLength) << FinishReasonName(d.finish_reason);
      run.tokens.push_back(d.tokens);
      run.cached.push_back(d.cached_tokens);
    }
  }
  (*loop)->Shutdown();
  run.stats = (*loop)->Stats();
  return run;
}

void ExpectAllEqual(const std::vector<std::vector<TokenId>>& want, const EngineRun& got,
                    const std::string& what) {
  ASSERT_EQ(want.size(), got.tokens.size());
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(got.tokens[i], want[i]) << what << ": request " << i;
  }
  EXPECT_EQ(got.stats.kv_blocks_used, 0) << what << ": blocks leaked";
  EXPECT_LE(got.stats.peak_kv_blocks_used, got.stats.kv_blocks_total) << what;
}

void CheckBatchingInvariance(const Model& m, int n_requests, std::vector<int> chunks) {
  const auto reqs = Workload(m, n_requests);
  std::vector<std::vector<TokenId>> want;
  int64_t longest = 0;
  for (const auto& r : reqs) {
    want.push_back(Alone(m, r.prompt, r.stop.max_tokens));
    longest = std::max<int64_t>(longest, r.prompt.size() + r.stop.max_tokens);
  }
  EngineConfig ec;
  ExpectAllEqual(want, RunEngine(m, reqs, ec, Runner()), "one batch");
  for (int chunk : chunks) {
    ec.max_batched_tokens = chunk;
    ExpectAllEqual(want, RunEngine(m, reqs, ec, Runner()), "chunk " + std::to_string(chunk));
  }
  ec = EngineConfig();
  EngineRun cached = RunEngine(m, reqs, ec, Runner(), /*rounds=*/2);
  ExpectAllEqual(want, cached, "from the prefix cache");
  // Second round: every prompt's full blocks (all but the last token) hit,
  // unless evicted meanwhile; the 4-context default cache keeps most.
  int64_t cacheable = 0;
  for (const auto& r : reqs) cacheable += (int64_t(r.prompt.size()) - 1) / 16 * 16;
  EXPECT_GE(cached.stats.prefix_cache_hit_tokens, cacheable / 2);
  int64_t hit_in_round2 = 0;
  for (int c : cached.cached) hit_in_round2 += c;
  EXPECT_GE(hit_in_round2, cacheable / 2);
  // Room for one and a half of the longest requests: preemption must happen.
  EngineRun tight = RunEngine(m, reqs, ec, Runner(longest * 3 / 2 + 16));
  ExpectAllEqual(want, tight, "preempted");
  EXPECT_GT(tight.stats.preemptions, 0);
}

TEST(EngineE2eTest, Stories260KResultsDoNotDependOnBatching) {
  CheckBatchingInvariance(*Stories(), 32, {3, 7, 64});
}

TEST(EngineE2eTest, QuantTestQ8ResultsDoNotDependOnBatching) {
  // Fewer requests: this model is ~40x the compute of stories260K.
  CheckBatchingInvariance(*QuantQ8(), 10, {7});
}

TEST(EngineE2eTest, Stories260KMatchesRunCGolden) {
  auto m = Stories();
  std::ifstream f(kShared + "/golden/once_upon_a_time.ids");
  std::string l1, l2;
  std::getline(f, l1);
  std::getline(f, l2);
  std::vector<TokenId> prompt, golden;
  // "prompt_ids: 1 403 ..." and "generated_ids: 432 ...".
  std::istringstream s1(l1.substr(l1.find(':') + 1)), s2(l2.substr(l2.find(':') + 1));
  for (int x; s1 >> x;) prompt.push_back(x);
  for (int x; s2 >> x;) golden.push_back(x);
  ASSERT_EQ(prompt, m->tokenizer().Encode("Once upon a time", true));
  ASSERT_GE(golden.size(), 60u);
  golden.resize(60);
  std::vector<GenerationRequest> reqs = Workload(*m, 8);
  reqs.push_back(Greedy(prompt, 60));
  EngineConfig ec;
  ec.max_batched_tokens = 16;
  EngineRun run = RunEngine(*m, reqs, ec, Runner());
  EXPECT_EQ(run.tokens.back(), golden);
}

// 16 prompts sharing a 300-token prefix: the prefix is computed (nearly)
// once, and the outputs equal those without the prefix cache.
TEST(EngineE2eTest, SharedPrefixIsReused) {
  auto m = Stories();
  std::mt19937 rng(11);
  std::vector<TokenId> prefix{1};
  while (prefix.size() < 300) prefix.push_back(TokenId(3 + rng() % 509));
  std::vector<GenerationRequest> reqs;
  for (int i = 0; i < 16; ++i) {
    std::vector<TokenId> p = prefix;
    for (int k = 0; k < 5 + i % 7; ++k) p.push_back(TokenId(3 + rng() % 509));
    reqs.push_back(Greedy(std::move(p), 16));
  }
  EngineConfig ec;
  EngineRun with = RunEngine(*m, reqs, ec, Runner());
  ec.enable_prefix_caching = false;
  EngineRun without = RunEngine(*m, reqs, ec, Runner());
  ExpectAllEqual(without.tokens, with, "prefix cache on vs off");
  EXPECT_EQ(without.stats.prefix_cache_hit_tokens, 0);
  // 300 tokens = 18 full blocks of 16 (288 tokens) shared. The first request
  // computes them; at most one more is admitted in the same step, before
  // anything is cached; every later one hits all 288.
  EXPECT_GE(with.stats.prefix_cache_hit_tokens, 14 * 288);
  int n_hit = 0;
  for (int c : with.cached) n_hit += c == 288;
  EXPECT_GE(n_hit, 14);
  EXPECT_EQ(with.tokens[3], Alone(*m, reqs[3].prompt, 16));
}

// A KV budget with room for about two sequences and 32 requests.
TEST(EngineE2eTest, MemoryPressureIsSurvived) {
  auto m = Stories();
  std::vector<GenerationRequest> reqs;
  std::mt19937 rng(5);
  for (int i = 0; i < 32; ++i) {
    std::vector<TokenId> p{1};
    while (p.size() < 40 + size_t(i % 5) * 10) p.push_back(TokenId(3 + rng() % 509));
    reqs.push_back(Greedy(std::move(p), 48));
  }
  const int64_t longest = 80 + 48;  // 8 blocks of 16
  EngineRun run = RunEngine(*m, reqs, EngineConfig(), Runner(2 * longest));
  EXPECT_EQ(run.stats.kv_blocks_total, 16);
  EXPECT_GT(run.stats.preemptions, 0);
  EXPECT_LE(run.stats.peak_kv_blocks_used, 16);
  EXPECT_EQ(run.stats.kv_blocks_used, 0);
  EXPECT_EQ(run.stats.requests_finished, 32);
  for (int i : {0, 13, 31}) EXPECT_EQ(run.tokens[i], Alone(*m, reqs[i].prompt, 48)) << i;
}

// A grammar holds whatever the model would rather write: stories260K knows
// no JSON, yet sampled at temperature 1 its constrained answers parse and
// fit the schema, end by themselves (finish "stop"), and unconstrained
// requests in the same batches still equal their solo runs.
TEST(EngineE2eTest, GrammarConstrainsOutputWhateverTheModelWants) {
  const auto m = Stories();
  auto gbnf = JsonSchemaToGbnf(R"({"type": "object", "properties": {
      "name": {"type": "string", "maxLength": 12}, "age": {"type": "integer"},
      "pets": {"type": "array", "items": {"enum": ["cat", "dog"]}, "maxItems": 3}},
      "required": ["name", "age"], "additionalProperties": false})");
  ASSERT_TRUE(gbnf.ok()) << gbnf.status().ToString();
  auto grammar = ParseGbnf(*gbnf);
  ASSERT_TRUE(grammar.ok()) << grammar.status().ToString();
  const auto shared = std::make_shared<const Grammar>(*std::move(grammar));

  auto runner = BackendRunner::Create(&*m, Runner());
  ASSERT_TRUE(runner.ok());
  EngineConfig ec;
  ec.max_batched_tokens = 64;  // chunked prefill in the same steps
  auto loop = EngineLoop::Create(std::move(runner).value(), &m->tokenizer(), ec);
  ASSERT_TRUE(loop.ok());
  std::vector<std::shared_ptr<OutputStream>> constrained, free;
  std::vector<GenerationRequest> free_reqs;
  for (int i = 0; i < 8; ++i) {
    GenerationRequest r;
    r.prompt = m->tokenizer().Encode("Once upon a time, a girl wrote her name", true);
    r.sampling.temperature = i == 0 ? 0.0f : 1.0f;
    r.sampling.seed = 100 + i;
    r.sampling.has_seed = true;
    r.stop.max_tokens = 400;
    r.grammar = shared;
    auto s = (*loop)->Submit(r);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    constrained.push_back(*s);
    GenerationRequest g = Greedy(m->tokenizer().Encode(i % 2 ? "The cat" : "Lily went", true), 20);
    free_reqs.push_back(g);
    auto fs = (*loop)->Submit(g);
    ASSERT_TRUE(fs.ok());
    free.push_back(*fs);
  }
  for (auto& s : constrained) {
    const StreamDelta d = s->WaitAll();
    EXPECT_EQ(d.finish_reason, FinishReason::kStop) << d.text;
    const auto j = nlohmann::json::parse(d.text, nullptr, /*allow_exceptions=*/false);
    ASSERT_FALSE(j.is_discarded()) << "not JSON: " << d.text;
    ASSERT_TRUE(j.is_object()) << d.text;
    EXPECT_TRUE(j.contains("name") && j["name"].is_string()) << d.text;
    EXPECT_TRUE(j.contains("age") && j["age"].is_number_integer()) << d.text;
    for (const auto& [key, value] : j.items()) {
      EXPECT_TRUE(key == "name" || key == "age" || key == "pets") << d.text;
    }
    if (j.contains("pets")) {
      EXPECT_LE(j["pets"].size(), 3u);
      for (const auto& p : j["pets"]) EXPECT_TRUE(p == "cat" || p == "dog") << d.text;
    }
  }
  for (size_t i = 0; i < free.size(); ++i) {
    EXPECT_EQ(free[i]->WaitAll().tokens, Alone(*m, free_reqs[i].prompt, 20)) << i;
  }
  (*loop)->Shutdown();
}

TEST(EngineE2eTest, BatchCommandWritesResultsInOrderAndStats) {
  const std::string dir = std::string(KVS_BUILD_DIR) + "/engine_e2e_batch";
  ASSERT_EQ(std::system(("mkdir -p " + dir).c_str()), 0);
  {
    std::ofstream in(dir + "/in.jsonl");
    in << R"({"prompt": "Once upon a time", "max_tokens": 30, "temperature": 0})" << "\n";
    in << R"({"prompt": "The cat", "max_tokens": 5, "temperature": 0.8, "seed": 3, "ignore_eos": true})" << "\n";
    in << R"({"prompt": "Once upon a time", "max_tokens": 30, "temperature": 0, "stop": "Lily"})"
       << "\n";
    in << R"({"prompt": "Once upon a time", "max_tokens": 1000})" << "\n";  // > context: rejected
  }
  const std::string cmd = std::string(KVS_BUILD_DIR) + "/kvserve batch -m " + kShared +
                          "/models/stories260K.bin --tokenizer " + kShared +
                          "/models/tok512.bin --input " + dir + "/in.jsonl --output " + dir +
                          "/out.jsonl -t 1 2> " + dir + "/stats.txt";
  EXPECT_NE(std::system(cmd.c_str()), 0) << "a rejected line makes the exit status non-zero";
  std::ifstream out(dir + "/out.jsonl");
  std::vector<nlohmann::json> lines;
  for (std::string l; std::getline(out, l);) lines.push_back(nlohmann::json::parse(l));
  ASSERT_EQ(lines.size(), 4u);
  auto m = Stories();
  const auto prompt = m->tokenizer().Encode("Once upon a time", true);
  const auto want = Alone(*m, prompt, 30);
  EXPECT_EQ(lines[0]["token_ids"].get<std::vector<TokenId>>(), want);
  EXPECT_EQ(lines[0]["finish_reason"], "length");
  EXPECT_EQ(lines[0]["prompt_tokens"], int(prompt.size()));
  EXPECT_EQ(lines[0]["text"], m->tokenizer().Decode(want));
  EXPECT_EQ(lines[1]["token_ids"].size(), 5u);
  EXPECT_EQ(lines[2]["finish_reason"], "stop");
  const std::string full = lines[0]["text"];
  EXPECT_EQ(lines[2]["text"], full.substr(0, full.find("Lily")));
  EXPECT_EQ(lines[3]["finish_reason"], "error");
  std::ifstream st(dir + "/stats.txt");
  std::string last, l;
  while (std::getline(st, l)) last = l;
  const auto stats = nlohmann::json::parse(last);
  for (const char* k : {"prefix_cache_hit_tokens", "prefix_cache_queried_tokens", "preemptions",
                        "peak_kv_blocks_used", "kv_blocks_total", "generated_tokens",
                        "elapsed_s"}) {
    EXPECT_TRUE(stats.contains(k)) << k;
  }
  EXPECT_EQ(stats["generated_tokens"], 30 + 5 + lines[2]["token_ids"].size());
}

}  // namespace
}  // namespace kvs::engine_e2e_test
