// kvserve generate: one prompt, streamed to stdout as tokens are produced,
// with run.c's text convention (the prompt echoed, then the continuation,
// then a newline); speeds on stderr.
#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "model/model.h"
#include "runtime/backend_runner.h"
#include "runtime/single_sequence.h"
#include "sampling/sampler.h"
#include "tokenizer/detokenizer.h"
#include "tools/commands.h"
#include "tools/engine_flags.h"

namespace kvs::tools {
namespace {

struct GenerateOptions {
  std::string model;
  std::string tokenizer;
  std::string prompt;
  int max_new_tokens = 256;
  SamplingParams sampling;
  int64_t seed = -1;
  RunnerConfig runner;
};

double Seconds(std::chrono::steady_clock::duration d) {
  return std::chrono::duration<double>(d).count();
}

int Generate(const GenerateOptions& opt) {
  const auto t_load = std::chrono::steady_clock::now();
  auto model_or = Model::Load(opt.model, opt.tokenizer);
  if (!model_or.ok()) {
    std::fprintf(stderr, "kvserve generate: %s\n", model_or.status().ToString().c_str());
    return 1;
  }
  const Model& model = **model_or;
  const double open_s = Seconds(std::chrono::steady_clock::now() - t_load);
  const Tokenizer& tok = model.tokenizer();
  std::vector<TokenId> prompt = tok.Encode(opt.prompt, /*add_bos=*/true);
  if (prompt.empty()) {
    std::fprintf(stderr, "kvserve generate: the prompt encodes to no tokens\n");
    return 1;
  }
  const int64_t total = static_cast<int64_t>(prompt.size()) + opt.max_new_tokens;
  if (total > model.config().context_length) {
    std::fprintf(stderr,
                 "kvserve generate: prompt (%zu tokens) + -n %d exceeds the context of %d\n",
                 prompt.size(), opt.max_new_tokens, model.config().context_length);
    return 1;
  }
  RunnerConfig rc = opt.runner;
  rc.max_kv_tokens = total;
  auto runner_or = BackendRunner::Create(&model, rc);
  if (!runner_or.ok()) {
    std::fprintf(stderr, "kvserve generate: %s\n", runner_or.status().ToString().c_str());
    return 1;
  }
  SingleSequence seq(runner_or->get());
  const double load_s = Seconds(std::chrono::steady_clock::now() - t_load);

  SamplingParams sp = opt.sampling;
  sp.has_seed = true;
  sp.seed = opt.seed >= 0 ? static_cast<uint64_t>(opt.seed) : std::random_device{}();
  Sampler sampler(sp);

  // Echo the prompt as run.c does (BOS and other control tokens print as
  // nothing; vocabularies without BOS, such as Qwen's, start with text).
  for (size_t i = 0; i < prompt.size(); ++i) {
    std::string_view piece = tok.Piece(i > 0 ? prompt[i - 1] : -1, prompt[i]);
    std::fwrite(piece.data(), 1, piece.size(), stdout);
  }
  std::fflush(stdout);

  const auto t0 = std::chrono::steady_clock::now();
  auto logits_or = seq.Feed(prompt);
  const auto t1 = std::chrono::steady_clock::now();
  std::vector<TokenId> generated;
  generated.reserve(opt.max_new_tokens);
  IncrementalDetokenizer detok(&tok, prompt.back(), {});
  while (logits_or.ok() && static_cast<int>(generated.size()) < opt.max_new_tokens) {
    std::span<const float> logits(*logits_or, model.config().n_vocab);
    const TokenId next = sampler.Sample(logits, prompt, generated).id;
    if (tok.IsEndOfGeneration(next)) break;
    generated.push_back(next);
    const std::string text = detok.Add(next).text;
    std::fwrite(text.data(), 1, text.size(), stdout);
    std::fflush(stdout);
    if (static_cast<int>(generated.size()) == opt.max_new_tokens) break;
    logits_or = seq.Feed(std::span<const TokenId>(&generated.back(), 1));
  }
  const auto t2 = std::chrono::steady_clock::now();
  const std::string rest = detok.Flush();
  std::fwrite(rest.data(), 1, rest.size(), stdout);
  std::fputc('\n', stdout);
  std::fflush(stdout);
  if (!logits_or.ok()) {
    std::fprintf(stderr, "kvserve generate: %s\n", logits_or.status().ToString().c_str());
    return 1;
  }
  const double prefill_s = Seconds(t1 - t0);
  const double decode_s = Seconds(t2 - t1);
  const size_t n_decoded = generated.empty() ? 0 : generated.size() - 1;  // forward passes
  std::fprintf(stderr,
               "load: %.3f s (model %.3f s, runner %.3f s); prompt: %zu tokens in %.3f s (%.1f tokens/s); generation: %zu tokens in %.3f s "
               "(%.1f tokens/s); backend %s\n",
               load_s, open_s, load_s - open_s, prompt.size(), prefill_s, prompt.size() / std::max(prefill_s, 1e-9),
               generated.size(), decode_s, n_decoded / std::max(decode_s, 1e-9),
               std::string(runner_or.value()->backend().name()).c_str());
  return 0;
}

}  // namespace

int RunGenerate(int argc, char** argv) {
  GenerateOptions opt;
  opt.sampling.temperature = 0.8f;
  CLI::App app{"Generate text from a prompt", "kvserve generate"};
  app.add_option("-m,--model", opt.model, "model file (GGUF or llama2.c .bin)")->required();
  app.add_option("--tokenizer", opt.tokenizer, "tokenizer file (llama2.c format)");
  app.add_option("-p,--prompt", opt.prompt, "prompt text");
  app.add_option("-n,--max-new-tokens", opt.max_new_tokens, "new tokens at most")
      ->check(CLI::Range(0, 1 << 20));
  app.add_option("--temperature,--temp", opt.sampling.temperature, "0 = greedy")
      ->check(CLI::Range(0.0, 100.0));
  app.add_option("--top-k", opt.sampling.top_k, "0 = off")->check(CLI::Range(0, 1 << 30));
  app.add_option("--top-p", opt.sampling.top_p, "1 = off")->check(CLI::Range(0.0, 1.0));
  app.add_option("--min-p", opt.sampling.min_p, "0 = off")->check(CLI::Range(0.0, 1.0));
  app.add_option("--repeat-penalty", opt.sampling.repetition_penalty, "1 = off")
      ->check(CLI::Range(0.0, 100.0));
  app.add_option("--seed", opt.seed, "RNG seed (default: random)");
  app.add_option("-t,--threads", opt.runner.n_threads, "threads (0 = all cores)")
      ->check(CLI::Range(0, 1024));
  app.add_option("--backend", opt.runner.backend,
                 "cpu, cpu:ISA (scalar, avx2, avx512, avx512-bf16dot, avx512-bf16bands, amx) or reference");
  app.add_flag("--weights-in-place", opt.runner.weights_in_place,
               "read file-layout weights from the file mapping instead of copies (serve's flag)");
  app.add_option("--kv-block-size", opt.runner.block_size, "tokens per KV block")
      ->check(CLI::Range(1, 1024));
  AddKvCacheDTypeFlag(&app, &opt.runner.kv_cache_dtype);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  return Generate(opt);
}

}  // namespace kvs::tools
