// Test-only: drives an Engine over a FakeModelRunner synchronously (no
// thread), with the tok512 vocabulary from the shared folder.
#pragma once

#include <memory>
#include <random>
#include <string>
#include <vector>

#include "engine/engine.h"
#include "engine/testing_fake_runner.h"
#include "tokenizer/testing_llama2c_vocab.h"
#include "tokenizer/tokenizer.h"

namespace kvs::testing {

constexpr int kFakeVocab = 512;  // tok512.bin

inline std::unique_ptr<Tokenizer> LoadTok512() {
  auto vocab = ReadLlama2cVocabForTest(std::string(KVS_SHARED_DIR) + "/models/tok512.bin");
  KVS_CHECK(vocab.ok()) << vocab.status().ToString();
  auto tok = Tokenizer::Create(std::move(vocab).value());
  KVS_CHECK(tok.ok()) << tok.status().ToString();
  return std::move(tok).value();
}

// BOS, then `n - 1` ids drawn from [3, 512) (no BOS/EOS/unk) by `seed`.
inline std::vector<TokenId> RandomPrompt(int n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<TokenId> p{1};
  while (int(p.size()) < n) p.push_back(TokenId(3 + rng() % (kFakeVocab - 3)));
  return p;
}

inline GenerationRequest Greedy(std::vector<TokenId> prompt, int max_tokens) {
  GenerationRequest r;
  r.prompt = std::move(prompt);
  r.sampling.temperature = 0;
  r.stop.max_tokens = max_tokens;
  r.stop.ignore_eos = true;
  return r;
}

struct FakeEngineOptions {
  int block_size = 4;
  int n_blocks = 256;
  int max_context = 512;
  EngineConfig config;
};

class EngineHarness {
 public:
  explicit EngineHarness(const FakeEngineOptions& o) : tokenizer_(LoadTok512()) {
    auto runner = std::make_unique<FakeModelRunner>(kFakeVocab, o.block_size, o.n_blocks,
                                                    o.max_context);
    runner_ = runner.get();
    auto engine = Engine::Create(std::move(runner), tokenizer_.get(), o.config);
    KVS_CHECK(engine.ok()) << engine.status().ToString();
    engine_ = std::move(engine).value();
  }

  std::shared_ptr<OutputStream> Submit(GenerationRequest r) {
    const RequestId id = next_id_++;
    auto stream = std::make_shared<OutputStream>(id);
    KVS_CHECK(engine_->Validate(r).ok()) << engine_->Validate(r).ToString();
    engine_->AddRequest(id, std::move(r), stream);
    return stream;
  }

  // Steps until idle; returns the number of steps. Checks KV invariants each step.
  int RunUntilIdle(int max_steps = 100000) {
    int steps = 0;
    while (engine_->HasWork() && steps < max_steps) {
      KVS_CHECK(engine_->Step().ok());
      engine_->kv().CheckInvariants();
      ++steps;
    }
    return steps;
  }

  Engine& engine() { return *engine_; }
  FakeModelRunner& runner() { return *runner_; }
  const Tokenizer& tokenizer() { return *tokenizer_; }

 private:
  std::unique_ptr<Tokenizer> tokenizer_;
  FakeModelRunner* runner_ = nullptr;  // owned by engine_
  std::unique_ptr<Engine> engine_;
  RequestId next_id_ = 1;
};

}  // namespace kvs::testing
