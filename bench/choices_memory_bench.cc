// KV memory and time of n = 8 choices against 8 separate requests for the
// same prompt (issue 17): one request with n = 8 (the prompt computed once,
// its blocks shared copy-on-write), 8 requests with the prefix cache (the
// followers wait for the leader's blocks), and 8 requests without it.
// Prints the peak of KV blocks in use and the wall time of each.
//
// Usage: choices_memory_bench [SHARED_DIR]   (stories260K, 1 thread)
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "engine/engine_loop.h"
#include "model/model.h"
#include "runtime/backend_runner.h"

namespace kvs {
namespace {

struct Result {
  int64_t peak_blocks;
  double seconds;
};

Result Run(const Model& model, int n, int requests, bool prefix_cache, const std::vector<TokenId>& prompt) {
  RunnerConfig rc;
  rc.n_threads = 1;
  rc.block_size = 16;
  auto runner = BackendRunner::Create(&model, rc);
  EngineConfig ec;
  ec.enable_prefix_caching = prefix_cache;
  auto loop = EngineLoop::Create(std::move(runner).value(), &model.tokenizer(), ec);
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<std::shared_ptr<OutputStream>> streams;
  for (int i = 0; i < requests; ++i) {
    GenerationRequest r;
    r.prompt = prompt;
    r.sampling.temperature = 1.0f;
    r.sampling.seed = 100 + i;
    r.sampling.has_seed = true;
    r.stop.max_tokens = 64;
    r.stop.ignore_eos = true;
    r.n = n;
    auto s = (*loop)->SubmitChoices(r);
    for (auto& x : *s) streams.push_back(x);
  }
  for (auto& s : streams) s->WaitAll();
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  (*loop)->Shutdown();
  return {(*loop)->Stats().peak_kv_blocks_used, seconds};
}

int Main(const std::string& shared) {
  auto model = Model::Load(shared + "/models/stories260K.bin", shared + "/models/tok512.bin");
  if (!model.ok()) {
    std::fprintf(stderr, "%s\n", model.status().ToString().c_str());
    return 1;
  }
  std::string text;
  while (text.size() < 900) text += "Once upon a time, there was a little girl named Lily who loved to play. ";
  const std::vector<TokenId> prompt = (*model)->tokenizer().Encode(text, true);
  std::printf("prompt %zu tokens, 64 new tokens per choice, KV blocks of 16 tokens\n", prompt.size());
  const Result a = Run(**model, 8, 1, true, prompt);
  const Result b = Run(**model, 1, 8, true, prompt);
  const Result c = Run(**model, 1, 8, false, prompt);
  std::printf("%-36s %12s %8s\n", "", "peak blocks", "seconds");
  std::printf("%-36s %12lld %8.2f\n", "n = 8, one request", static_cast<long long>(a.peak_blocks), a.seconds);
  std::printf("%-36s %12lld %8.2f\n", "8 requests, prefix cache", static_cast<long long>(b.peak_blocks), b.seconds);
  std::printf("%-36s %12lld %8.2f\n", "8 requests, no prefix cache", static_cast<long long>(c.peak_blocks), c.seconds);
  return 0;
}

}  // namespace
}  // namespace kvs

int main(int argc, char** argv) { return kvs::Main(argc > 1 ? argv[1] : KVS_SHARED_DIR); }
