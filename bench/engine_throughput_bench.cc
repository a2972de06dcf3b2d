// engine_throughput_bench: output tokens/s of 32 greedy requests through the
// continuous-batching engine, against the same requests one after another
// through the single-sequence path `kvserve generate` uses, in one run.
//
// usage: engine_throughput_bench [-t THREADS] [-n MAX_TOKENS] [MODEL [TOKENIZER]]
// Without MODEL: stories260K (llama2.c) and quant-test Q8_0 from the shared folder.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "engine/engine_loop.h"
#include "model/model.h"
#include "runtime/backend_runner.h"
#include "runtime/single_sequence.h"

namespace kvs {
namespace {

double Now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

std::vector<GenerationRequest> Requests(const Model& m, int n_requests, int max_tokens) {
  std::mt19937 rng(1);
  std::vector<GenerationRequest> out;
  for (int i = 0; i < n_requests; ++i) {
    GenerationRequest r;
    if (i % 2 == 0) {
      r.prompt = m.tokenizer().Encode(i % 4 == 0 ? "Once upon a time" : "The little dog", true);
    } else {
      r.prompt = {1};
      const int len = 8 + int(rng() % 48);
      while (int(r.prompt.size()) < len) r.prompt.push_back(TokenId(3 + rng() % 500));
    }
    r.sampling.temperature = 0;
    r.stop.max_tokens = max_tokens;
    r.stop.ignore_eos = true;
    out.push_back(std::move(r));
  }
  return out;
}

int Bench(const std::string& model_path, const std::string& tok_path, int n_threads,
          int max_tokens) {
  auto model_or = Model::Load(model_path, tok_path);
  if (!model_or.ok()) {
    std::fprintf(stderr, "%s\n", model_or.status().ToString().c_str());
    return 1;
  }
  const Model& m = **model_or;
  const auto reqs = Requests(m, 32, max_tokens);
  RunnerConfig rc;
  rc.n_threads = n_threads;
  int64_t total_tokens = 0;
  for (const auto& r : reqs) total_tokens += int64_t(r.prompt.size()) + max_tokens;
  rc.max_kv_tokens = total_tokens + 32 * rc.block_size;  // every request fits at once

  // One after another, as `kvserve generate` runs a prompt.
  std::vector<std::vector<TokenId>> seq_out;
  double t0 = Now();
  {
    RunnerConfig one = rc;
    one.max_kv_tokens = m.config().context_length;
    auto runner = BackendRunner::Create(&m, one);
    if (!runner.ok()) return 1;
    SingleSequence seq(runner->get());
    const int n_vocab = m.config().n_vocab;
    for (const auto& r : reqs) {
      seq.Reset();
      std::vector<TokenId> out;
      auto logits = seq.Feed(r.prompt);
      while (logits.ok()) {
        TokenId best = 0;
        for (TokenId v = 1; v < n_vocab; ++v) best = (*logits)[v] > (*logits)[best] ? v : best;
        out.push_back(best);
        if (int(out.size()) == max_tokens) break;
        logits = seq.Feed(std::span<const TokenId>(&out.back(), 1));
      }
      seq_out.push_back(out);
    }
  }
  const double seq_s = Now() - t0;

  // All at once through the engine.
  auto runner = BackendRunner::Create(&m, rc);
  if (!runner.ok()) return 1;
  auto loop = EngineLoop::Create(std::move(runner).value(), &m.tokenizer(), EngineConfig());
  if (!loop.ok()) return 1;
  t0 = Now();
  std::vector<std::shared_ptr<OutputStream>> streams;
  for (const auto& r : reqs) streams.push_back(std::move((*loop)->Submit(r)).value());
  bool identical = true;
  for (size_t i = 0; i < streams.size(); ++i) {
    identical = identical && streams[i]->WaitAll().tokens == seq_out[i];
  }
  const double eng_s = Now() - t0;
  (*loop)->Shutdown();
  const EngineStats st = (*loop)->Stats();

  const double n_out = 32.0 * max_tokens;
  std::printf(
      "engine_throughput %s: 32 requests x %d tokens, %d thread(s): sequential %.1f tok/s "
      "(%.2f s), engine %.1f tok/s (%.2f s, %lld steps), speedup %.2fx, outputs identical: %s\n",
      m.Describe().c_str(), max_tokens, n_threads, n_out / seq_s, seq_s, n_out / eng_s, eng_s,
      static_cast<long long>(st.steps), seq_s / eng_s, identical ? "yes" : "NO");
  return identical ? 0 : 1;
}

}  // namespace
}  // namespace kvs

int main(int argc, char** argv) {
  int n_threads = 1;
  int max_tokens = 128;
  std::vector<std::string> pos;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "-t") == 0 && i + 1 < argc) {
      n_threads = std::atoi(argv[++i]);
    } else if (std::strcmp(argv[i], "-n") == 0 && i + 1 < argc) {
      max_tokens = std::atoi(argv[++i]);
    } else {
      pos.push_back(argv[i]);
    }
  }
  const std::string shared = KVS_SHARED_DIR;
  if (!pos.empty()) return kvs::Bench(pos[0], pos.size() > 1 ? pos[1] : "", n_threads, max_tokens);
  int rc = kvs::Bench(shared + "/models/stories260K.bin", shared + "/models/tok512.bin", n_threads,
                      max_tokens);
  rc |= kvs::Bench(shared + "/models/quant-test/quant-test-Q8_0.gguf", "", n_threads, max_tokens);
  return rc;
}
